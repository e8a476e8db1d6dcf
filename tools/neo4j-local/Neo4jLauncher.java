// Runs Neo4j Community in-process with Bolt on a loopback address, for machines without Docker.
//
// Usage: java -cp 'lib/*:classes' Neo4jLauncher <home-dir> <neo4j.conf>
//   <neo4j.conf> holds ordinary Neo4j settings (server.bolt.listen_address, memory, plugins...);
//   personagraph's Python side writes it.
// Environment: PERSONA_NEO4J_PASSWORD (required): set as the neo4j user's password at start.
// Prints "READY" on stdout once the default database accepts work, and shuts down
// cleanly on SIGTERM/SIGINT through a shutdown hook.
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

public final class Neo4jLauncher {
    private Neo4jLauncher() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Neo4jLauncher <home-dir> <neo4j.conf>");
            System.exit(64);
        }
        String password = System.getenv("PERSONA_NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("PERSONA_NEO4J_PASSWORD must be set (8 characters or more)");
            System.exit(64);
        }
        DatabaseManagementService service = new DatabaseManagementServiceBuilder(Path.of(args[0]))
                .loadPropertiesFromFile(Path.of(args[1]))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.shutdown();
            stopped.countDown();
        }, "neo4j-shutdown"));

        try {
            setPassword(service, password);
            service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        } catch (RuntimeException e) {
            e.printStackTrace();
            System.exit(70); // the shutdown hook stops the DBMS
        }
        System.out.println("READY");
        System.out.flush();
        stopped.await();
    }

    private static void setPassword(DatabaseManagementService service, String password) {
        try {
            service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                    Map.of("password", password));
        } catch (RuntimeException e) {
            // Neo4j refuses to "change" a password to the one it already has: that is our goal met.
            if (!String.valueOf(rootCause(e).getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }
}
