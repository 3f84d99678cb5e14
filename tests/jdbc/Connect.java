import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** Opening the connection both programs use. */
final class Connect {
    private Connect() {}

    /**
     * Connects to {@code url}, or prints {@code CONNECT-ERROR <SQLState> <message>} and exits
     * with status 2.
     */
    static Connection orExit(String url) {
        try {
            return DriverManager.getConnection(url);
        } catch (SQLException e) {
            System.out.println("CONNECT-ERROR " + e.getSQLState() + " " + e.getMessage());
            System.out.flush();
            System.exit(2);
            throw new IllegalStateException("unreachable");
        }
    }
}
