import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Applies SQL migration files the way Flyway does over JDBC: autocommit off, one transaction
 * per file, each statement through {@code PreparedStatement.execute()}, then a row in
 * {@code flyway_schema_history} inserted with a PreparedStatement, then {@code commit()}.
 *
 * <pre>
 * java -cp /usr/share/java/postgresql.jar:CLASSES JdbcMigrate JDBC_URL FILE...
 * </pre>
 *
 * A file name's leading digits (after an optional {@code V}) are its version, the rest its
 * description. Statements are split at a {@code ;} that ends a line; lines starting with
 * {@code --} are dropped. Files whose version is already in the history are skipped. As with
 * Flyway, a migration's first statement is the first of its transaction, so pgjdbc sends it in
 * the same batch as its implicit {@code BEGIN}.
 *
 * Output: {@code APPLIED <file>} or {@code SKIPPED <file>} per file and exit 0; on a failed
 * statement {@code ERROR <SQLState> <message>}, {@code DETAIL <detail>} and {@code HINT <hint>}
 * (the server's fields, empty when absent), a rollback, and exit 3; {@code CONNECT-ERROR ...}
 * (exit 2); usage (exit 64).
 */
public final class JdbcMigrate {
    private static final String CREATE_HISTORY =
        "CREATE TABLE IF NOT EXISTS flyway_schema_history ("
            + "installed_rank integer NOT NULL PRIMARY KEY, version varchar(50),"
            + " description varchar(200) NOT NULL, type varchar(20) NOT NULL,"
            + " script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL,"
            + " installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL,"
            + " success boolean NOT NULL)";
    private static final String INSERT_HISTORY =
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,"
            + " checksum, installed_by, execution_time, success)"
            + " VALUES (?, ?, ?, 'SQL', ?, ?, current_user, ?, true)";

    private JdbcMigrate() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: JdbcMigrate JDBC_URL FILE...");
            System.exit(64);
        }
        Connection conn = Connect.orExit(args[0]);
        int status = 0;
        try {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement(CREATE_HISTORY)) {
                ps.execute();
            }
            Set<String> applied = new HashSet<>();
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT version FROM flyway_schema_history WHERE success");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    applied.add(rs.getString(1));
                }
            }
            conn.commit();
            for (int i = 1; i < args.length; i++) {
                migrate(conn, Paths.get(args[i]), applied);
            }
        } catch (SQLException e) {
            printError(e);
            try {
                conn.rollback();
            } catch (SQLException ignored) {
                // The failure is already printed.
            }
            status = 3;
        } finally {
            conn.close();
        }
        System.out.flush();
        System.exit(status);
    }

    private static void migrate(Connection conn, Path file, Set<String> applied) throws Exception {
        String name = file.getFileName().toString();
        String stem = name.replaceFirst("\\.sql$", "").replaceFirst("^V", "");
        String digits = stem.replaceFirst("^(\\d+).*$", "$1");
        String version = String.valueOf(Integer.parseInt(digits));
        String description = stem.substring(digits.length()).replaceAll("_+", " ").trim();
        if (applied.contains(version)) {
            System.out.println("SKIPPED " + name);
            return;
        }
        String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        long start = System.currentTimeMillis();
        for (String sql : statements(text)) {
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                ps.execute();
            }
        }
        int rank;
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT coalesce(max(installed_rank), 0) + 1 FROM flyway_schema_history");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            rank = rs.getInt(1);
        }
        try (PreparedStatement ps = conn.prepareStatement(INSERT_HISTORY)) {
            ps.setInt(1, rank);
            ps.setString(2, version);
            ps.setString(3, description);
            ps.setString(4, name);
            ps.setInt(5, text.hashCode());
            ps.setInt(6, (int) (System.currentTimeMillis() - start));
            ps.executeUpdate();
        }
        conn.commit();
        System.out.println("APPLIED " + name);
    }

    private static List<String> statements(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : text.split("\n")) {
            if (line.trim().startsWith("--")) {
                continue;
            }
            current.append(line).append('\n');
            if (line.trim().endsWith(";")) {
                addStatement(out, current);
            }
        }
        addStatement(out, current);
        return out;
    }

    private static void addStatement(List<String> out, StringBuilder current) {
        String sql = current.toString().trim();
        if (sql.endsWith(";")) {
            sql = sql.substring(0, sql.length() - 1).trim();
        }
        if (!sql.isEmpty()) {
            out.add(sql);
        }
        current.setLength(0);
    }

    private static void printError(SQLException e) {
        ServerError error = new ServerError(e);
        System.out.println("ERROR " + error.sqlState + " " + error.message);
        System.out.println("DETAIL " + error.detail);
        System.out.println("HINT " + error.hint);
    }
}
