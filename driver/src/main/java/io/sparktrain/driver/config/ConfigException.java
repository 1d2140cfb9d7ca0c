package io.sparktrain.driver.config;

/** A bad job config or command line: the message is one line naming the key (exit code 2). */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
