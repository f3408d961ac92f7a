package dev.easel.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/** Says where two answers (JSON) or two PNGs (text chunks) differ, for the report's notes. */
final class Differences {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX = 4;

    private Differences() {
    }

    /** The first few JSON paths where the values differ: {@code /timingsMs/total 12 ≠ 15}. */
    static String json(byte[] a, byte[] b) {
        try {
            List<String> out = new ArrayList<>();
            diff("", JSON.readTree(a), JSON.readTree(b), out);
            return out.isEmpty() ? "same JSON, other bytes" : String.join(", ", out);
        } catch (IOException | RuntimeException e) {
            return "not JSON";
        }
    }

    private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
        if (out.size() >= MAX || Objects.equals(a, b)) {
            return;
        }
        if (a != null && b != null && a.isObject() && b.isObject()) {
            TreeSet<String> names = new TreeSet<>();
            a.fieldNames().forEachRemaining(names::add);
            b.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                diff(path + "/" + name, a.get(name), b.get(name), out);
            }
        } else if (a != null && b != null && a.isArray() && b.isArray() && a.size() == b.size()) {
            for (int i = 0; i < a.size(); i++) {
                diff(path + "/" + i, a.get(i), b.get(i), out);
            }
        } else if (out.size() < MAX) {
            out.add(path + " " + shorten(a == null ? "(absent)" : a) + " ≠ " + shorten(b == null ? "(absent)" : b));
        }
    }

    /** The PNG text chunks ({@code tEXt}, {@code iTXt}) that differ, or "text chunks equal". */
    static String pngText(byte[] a, byte[] b) {
        Map<String, String> x = textChunks(a);
        Map<String, String> y = textChunks(b);
        List<String> out = new ArrayList<>();
        TreeSet<String> keys = new TreeSet<>(x.keySet());
        keys.addAll(y.keySet());
        for (String key : keys) {
            if (!Objects.equals(x.get(key), y.get(key)) && out.size() < MAX) {
                out.add(key + " \"" + shorten(x.get(key)) + "\" ≠ \"" + shorten(y.get(key)) + "\"");
            }
        }
        return out.isEmpty() ? "text chunks equal" : "text " + String.join(", ", out);
    }

    static Map<String, String> textChunks(byte[] png) {
        Map<String, String> text = new LinkedHashMap<>();
        ByteBuffer buffer = ByteBuffer.wrap(png);
        if (png.length < 8) {
            return text;
        }
        buffer.position(8);
        while (buffer.remaining() >= 12) {
            int length = buffer.getInt();
            byte[] type = new byte[4];
            buffer.get(type);
            if (length < 0 || length > buffer.remaining() - 4) {
                break;
            }
            byte[] data = new byte[length];
            buffer.get(data);
            buffer.getInt(); // CRC
            String name = new String(type, StandardCharsets.ISO_8859_1);
            if (name.equals("tEXt") || name.equals("iTXt")) {
                int nul = indexOf(data, 0);
                if (nul > 0) {
                    String keyword = new String(data, 0, nul, StandardCharsets.ISO_8859_1);
                    String value = name.equals("tEXt")
                            ? new String(data, nul + 1, data.length - nul - 1, StandardCharsets.ISO_8859_1)
                            : itxtValue(data, nul);
                    text.put(keyword, value);
                }
            }
        }
        return text;
    }

    private static String itxtValue(byte[] data, int nul) {
        // keyword NUL, compression flag, method, language NUL, translated keyword NUL, text
        int language = indexOf(data, nul + 3);
        int translated = language < 0 ? -1 : indexOf(data, language + 1);
        return translated < 0 ? "" : new String(data, translated + 1, data.length - translated - 1, StandardCharsets.UTF_8);
    }

    private static int indexOf(byte[] data, int from) {
        for (int i = Math.max(0, from); i < data.length; i++) {
            if (data[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static String shorten(Object value) {
        String s = String.valueOf(value);
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }
}
