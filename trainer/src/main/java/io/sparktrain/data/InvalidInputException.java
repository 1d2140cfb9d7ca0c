package io.sparktrain.data;

/**
 * Bad training input, found before any training work starts. The message names the column or
 * key, the expected and the found value, and where (row position or partition).
 */
public class InvalidInputException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public InvalidInputException(String message) {
    super(message);
  }

  /** The input error behind a failed Spark job, or null when the failure had another cause. */
  public static InvalidInputException find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof InvalidInputException) {
        return (InvalidInputException) c;
      }
      String msg = c.getMessage();
      String marker = InvalidInputException.class.getName() + ": ";
      if (msg != null && msg.contains(marker)) {
        String rest = msg.substring(msg.indexOf(marker) + marker.length());
        int end = rest.indexOf('\n');
        return new InvalidInputException(end < 0 ? rest : rest.substring(0, end));
      }
    }
    return null;
  }
}
