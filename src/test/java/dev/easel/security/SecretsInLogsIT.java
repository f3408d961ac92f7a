package dev.easel.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.easel.devstack.LocalStack;
import dev.easel.testing.LogCapture;
import dev.easel.testing.TestKeys;
import dev.easel.worker.WorkerStack;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.Test;

/**
 * No secret in the logs: a full job run (with a webhook, so the signer runs), a rejected job, a
 * refused credential and a bad token, and none of the secrets the
 * worker holds appears in any line: webhook signing secret, S3 secret key, API keys, tokens, and a
 * webhook URL's path and query (only its scheme, host and port are logged).
 */
@QuarkusTest
@WithTestResource(WorkerStack.class)
class SecretsInLogsIT {

    private final HttpClient http = HttpClient.newHttpClient();
    @TestHTTPResource("/")
    URI base;

    @Test
    void noSecretIsEverLogged() throws Exception {
        String token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZS1vZi1hLXRva2Vu";
        String unknownKey = "easel_" + UUID.randomUUID().toString().replace("-", "") + "notAKeyOfAnyone";
        try (LogCapture logs = LogCapture.of("")) {
            String id = "secrets-" + UUID.randomUUID();
            // Refused: the delivery fails and is logged. A webhook URL's path and query are often secrets too.
            String hookPath = "services/T0HOOKPATH/B0SECRET";
            String hookToken = "hooktoken-" + UUID.randomUUID();
            String hook = "http://127.0.0.1:9/" + hookPath + "?token=" + hookToken;
            HttpResponse<String> ok = post(TestKeys.DEFAULT, "{\"version\": 1, \"id\": \"" + id + "\", \"model\": \""
                    + WorkerStack.MODEL + "\", \"prompt\": \"a red circle\", \"width\": 64, \"height\": 64, \"steps\": 2,"
                    + " \"webhook\": {\"url\": \"" + hook + "\"}}");
            assertThat(ok.statusCode()).isEqualTo(202);
            assertThat(post(TestKeys.DEFAULT, "{\"version\": 1, \"id\": \"" + id + "-bad\", \"width\": 7}").statusCode())
                    .isEqualTo(400);
            assertThat(post(unknownKey, "{}").statusCode()).isEqualTo(401);
            assertThat(http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).header("Authorization",
                    "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < until && !get(id).contains("\"completed\"")) {
                Thread.sleep(200);
            }
            assertThat(get(id)).contains("\"completed\"");
            Thread.sleep(1000); // the webhook's failed delivery is logged beside the job

            List<String> lines = logs.records(r -> true).stream().map(SecretsInLogsIT::text).toList();
            assertThat(lines).isNotEmpty();
            String all = lines.stream().collect(Collectors.joining("\n"));
            assertThat(all).contains(id); // the capture did see the job
            for (String secret : List.of(WorkerStack.SIGNING_SECRET, WorkerStack.SIGNING_SECRET.substring(6),
                    LocalStack.S3_SECRET_KEY, TestKeys.DEFAULT, TestKeys.ACME, TestKeys.BETA, unknownKey, token, hookPath,
                    hookToken)) {
                assertThat(all).as("a log line holds a secret").doesNotContain(secret);
            }
        }
    }

    private static String text(ExtLogRecord record) {
        String message = record.getFormattedMessage();
        Throwable thrown = record.getThrown();
        return message + (thrown == null ? "" : " " + thrown);
    }

    private HttpResponse<String> post(String key, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("v1/jobs")).header(TestKeys.HEADER, key)
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body,
                        StandardCharsets.UTF_8)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String get(String id) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("v1/jobs/" + id)).header(TestKeys.HEADER, TestKeys.DEFAULT)
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
