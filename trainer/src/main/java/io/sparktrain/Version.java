package io.sparktrain;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The sparktrain version, written into the build's version.properties. */
public final class Version {
  private static final String VERSION = read();

  private Version() {
  }

  /** The sparktrain version (from the build), or "unknown". */
  public static String get() {
    return VERSION;
  }

  private static String read() {
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        return p.getProperty("version", "unknown");
      }
    } catch (IOException e) {
      // the version is informational: fall through
    }
    return "unknown";
  }
}
