package io.sparktrain.driver;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code sparktrain} (Main) in a child JVM, as a user runs it: this JVM's classpath and module
 * flags, the project's log4j2 setup (conf/log4j2.properties), loopback only, one BLAS thread.
 */
final class CliProcess {
  private CliProcess() {
  }

  /** The project's root: the working directory of the driver module's tests is driver/. */
  static Path root() {
    Path here = Path.of("").toAbsolutePath();
    return Files.exists(here.resolve("conf/log4j2.properties")) ? here : here.getParent();
  }

  /** A child {@code sparktrain args...} whose stdout and stderr go to {@code log}. */
  static ProcessBuilder sparktrain(Path log, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-") || a.startsWith("-Djava.security") || a.startsWith("-Xmx")) {
        cmd.add(a);
      }
    }
    cmd.add("-Dlog4j2.configurationFile=" + root().resolve("conf/log4j2.properties"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.sparktrain.driver.Main");
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    return pb;
  }
}
