package dev.easel.deployment;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What ONNX Runtime's JNI library ({@code libonnxruntime4j_jni.so}) looks up in Java through JNI
 * ({@code FindClass}, {@code GetMethodID}, {@code GetFieldID}), read from the library itself: a
 * native image must register exactly these (jni-config.json) or the lookups fail at run time.
 *
 * <p>The names and signatures are string literals in the library's read-only data, so a string
 * scan finds them without parsing ELF. The linker merges strings that are the tail of another
 * ({@code "J"} inside {@code "()J"}), so every suffix of every string counts as present. A
 * member counts as looked up when its class name, its name and its JNI descriptor all occur:
 * an over-approximation (a registration too many costs nothing), never an under-one as long as
 * the library names what it looks up in literals, which is how its sources are written.
 */
record OrtJniLookups(Set<String> classes, Set<Member> members) {

    /** The library inside the ONNX Runtime jar on the test classpath. */
    static final String LIBRARY = "/ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so";

    /** A constructor ({@code <init>}), method or field of a class, by JNI name and descriptor. */
    record Member(String className, String name, String descriptor, boolean field) {
    }

    static OrtJniLookups scan() throws IOException {
        byte[] library;
        try (InputStream in = OrtJniLookups.class.getResourceAsStream(LIBRARY)) {
            if (in == null) {
                throw new IllegalStateException(LIBRARY + " is not on the classpath (ONNX Runtime jar missing?)");
            }
            library = in.readAllBytes();
        }
        Set<String> strings = stringSuffixes(library);
        Set<String> classes = new TreeSet<>();
        Set<Member> members = new HashSet<>();
        for (String s : strings) {
            if (!(s.startsWith("ai/onnxruntime/") || s.startsWith("java/"))) {
                continue;
            }
            Class<?> type = load(s.replace('/', '.'));
            if (type == null) {
                continue;
            }
            classes.add(s);
            for (Constructor<?> c : type.getDeclaredConstructors()) {
                String d = descriptor(c.getParameterTypes(), void.class);
                if (strings.contains("<init>") && strings.contains(d)) {
                    members.add(new Member(s, "<init>", d, false));
                }
            }
            for (Method m : type.getDeclaredMethods()) {
                String d = descriptor(m.getParameterTypes(), m.getReturnType());
                if (strings.contains(m.getName()) && strings.contains(d)) {
                    members.add(new Member(s, m.getName(), d, false));
                }
            }
            for (Field f : type.getDeclaredFields()) {
                if (strings.contains(f.getName()) && strings.contains(typeDescriptor(f.getType()))) {
                    members.add(new Member(s, f.getName(), typeDescriptor(f.getType()), true));
                }
            }
        }
        return new OrtJniLookups(classes, members);
    }

    /** Every suffix of every NUL-terminated run of printable ASCII. */
    static Set<String> stringSuffixes(byte[] bytes) {
        Set<String> out = new HashSet<>();
        int start = -1;
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            if (b >= 0x20 && b < 0x7f) {
                if (start < 0) {
                    start = i;
                }
            } else {
                if (b == 0 && start >= 0) {
                    String s = new String(bytes, start, i - start, java.nio.charset.StandardCharsets.US_ASCII);
                    for (int k = 0; k < s.length(); k++) {
                        out.add(s.substring(k));
                    }
                }
                start = -1;
            }
        }
        return out;
    }

    static String descriptor(Class<?>[] parameters, Class<?> result) {
        return Stream.of(parameters).map(OrtJniLookups::typeDescriptor).collect(Collectors.joining("", "(", ")"))
                + typeDescriptor(result);
    }

    static String typeDescriptor(Class<?> type) {
        if (type.isArray()) {
            return "[" + typeDescriptor(type.getComponentType());
        }
        if (type.isPrimitive()) {
            return switch (type.getName()) {
                case "void" -> "V";
                case "boolean" -> "Z";
                case "byte" -> "B";
                case "char" -> "C";
                case "short" -> "S";
                case "int" -> "I";
                case "long" -> "J";
                case "float" -> "F";
                case "double" -> "D";
                default -> throw new IllegalArgumentException(type.getName());
            };
        }
        return "L" + type.getName().replace('.', '/') + ";";
    }

    private static Class<?> load(String name) {
        try {
            // Not initialised: initialising ai.onnxruntime classes loads the native library.
            return Class.forName(name, false, OrtJniLookups.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /** These lookups as a GraalVM jni-config.json document, for regenerating the committed file. */
    String toJniConfig() {
        TreeMap<String, List<Member>> byClass = new TreeMap<>();
        for (String c : classes) {
            byClass.put(c, members.stream().filter(m -> m.className().equals(c))
                    .sorted(Comparator.comparing(Member::name).thenComparing(Member::descriptor)).toList());
        }
        StringBuilder json = new StringBuilder("[\n");
        int i = 0;
        for (var entry : byClass.entrySet()) {
            json.append("  {\"name\": \"").append(entry.getKey().replace('/', '.')).append('"');
            List<Member> methods = entry.getValue().stream().filter(m -> !m.field()).toList();
            List<Member> fields = entry.getValue().stream().filter(Member::field).toList();
            if (!methods.isEmpty()) {
                json.append(", \"methods\": [");
                json.append(methods.stream().map(m -> "{\"name\": \"" + m.name() + "\", \"parameterTypes\": ["
                        + parameterTypes(m.descriptor()) + "]}").collect(Collectors.joining(", ")));
                json.append(']');
            }
            if (!fields.isEmpty()) {
                json.append(", \"fields\": [");
                json.append(fields.stream().map(m -> "{\"name\": \"" + m.name() + "\"}").collect(Collectors.joining(", ")));
                json.append(']');
            }
            json.append('}').append(++i < byClass.size() ? ",\n" : "\n");
        }
        return json.append("]\n").toString();
    }

    /** A method descriptor's parameters as jni-config's Java type names ({@code long}, {@code java.lang.String[]}). */
    static String parameterTypes(String descriptor) {
        return javaNames(descriptor.substring(1, descriptor.indexOf(')'))).stream()
                .map(t -> "\"" + t + "\"").collect(Collectors.joining(", "));
    }

    static List<String> javaNames(String parameters) {
        List<String> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < parameters.length()) {
            int dims = 0;
            while (parameters.charAt(i) == '[') {
                dims++;
                i++;
            }
            String name;
            char c = parameters.charAt(i);
            if (c == 'L') {
                int end = parameters.indexOf(';', i);
                name = parameters.substring(i + 1, end).replace('/', '.');
                i = end + 1;
            } else {
                name = switch (c) {
                    case 'Z' -> "boolean";
                    case 'B' -> "byte";
                    case 'C' -> "char";
                    case 'S' -> "short";
                    case 'I' -> "int";
                    case 'J' -> "long";
                    case 'F' -> "float";
                    case 'D' -> "double";
                    default -> throw new IllegalArgumentException(parameters);
                };
                i++;
            }
            out.add(name + "[]".repeat(dims));
        }
        return out;
    }
}
