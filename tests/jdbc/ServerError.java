import java.sql.SQLException;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * An error as the server sent it: its own message, detail and hint, without the driver's
 * "Hint:/Position:" decorations of {@code getMessage()}. Fields are empty when absent.
 */
final class ServerError {
    final String sqlState;
    final String message;
    final String detail;
    final String hint;

    ServerError(SQLException e) {
        String m = e.getMessage();
        String d = "";
        String h = "";
        if (e instanceof PSQLException) {
            ServerErrorMessage server = ((PSQLException) e).getServerErrorMessage();
            if (server != null) {
                if (server.getMessage() != null) {
                    m = server.getMessage();
                }
                if (server.getDetail() != null) {
                    d = server.getDetail();
                }
                if (server.getHint() != null) {
                    h = server.getHint();
                }
            }
        }
        sqlState = e.getSQLState();
        message = m;
        detail = d;
        hint = h;
    }
}
