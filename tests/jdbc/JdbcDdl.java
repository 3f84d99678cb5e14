import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Runs one statement through the PostgreSQL JDBC driver (extended query protocol), the way a
 * Java migration tool or application would, and reports what the driver saw.
 *
 * <pre>
 * java -cp /usr/share/java/postgresql.jar:CLASSES JdbcDdl JDBC_URL SQL
 *   JDBC_URL  e.g. jdbc:postgresql://127.0.0.1:6432/postgres?user=postgres&amp;password=secret
 *   SQL       one statement, run with PreparedStatement.executeUpdate() in autocommit mode
 * </pre>
 *
 * Output, one item per line:
 * <ul>
 *   <li>{@code OK <updateCount>} when the statement succeeded, then {@code USABLE} once a
 *       {@code SELECT 1} on the same connection returned 1; exit status 0;</li>
 *   <li>{@code ERROR <SQLState> <message>} and {@code HINT <hint>} (the server's HINT field,
 *       empty when there is none; newlines in the hint are kept, so it may span several lines)
 *       when the statement failed; then the same {@code SELECT 1} check ({@code USABLE}), and
 *       exit status 3;</li>
 *   <li>{@code CONNECT-ERROR ...} (exit 2) when the connection cannot be opened,
 *       {@code UNUSABLE ...} (exit 4) when the follow-up {@code SELECT 1} fails,
 *       usage (exit 64) on bad arguments.</li>
 * </ul>
 */
public final class JdbcDdl {
    private JdbcDdl() {}

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: JdbcDdl JDBC_URL SQL");
            System.exit(64);
        }
        int status = 0;
        Connection conn = Connect.orExit(args[0]);
        try {
            conn.setAutoCommit(true);
            try (PreparedStatement ps = conn.prepareStatement(args[1])) {
                int count = ps.executeUpdate();
                System.out.println("OK " + count);
            } catch (SQLException e) {
                printError(e);
                status = 3;
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT 1");
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getInt(1) == 1) {
                    System.out.println("USABLE");
                } else {
                    System.out.println("UNUSABLE SELECT 1 returned no 1");
                    status = 4;
                }
            } catch (SQLException e) {
                System.out.println("UNUSABLE " + e.getSQLState() + " " + e.getMessage());
                status = 4;
            }
        } catch (SQLException e) {
            System.out.println("UNUSABLE " + e.getSQLState() + " " + e.getMessage());
            status = 4;
        } finally {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // The outcome is already printed.
            }
        }
        System.out.flush();
        System.exit(status);
    }

    private static void printError(SQLException e) {
        ServerError error = new ServerError(e);
        System.out.println("ERROR " + error.sqlState + " " + error.message);
        System.out.println("HINT " + error.hint);
    }
}
