package io.sparktrain.driver;

import io.sparktrain.driver.config.ConfigSchema;
import io.sparktrain.linalg.Blas;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import scala.util.Properties;

/** {@code sparktrain info [--schema]}: versions, the BLAS in use, and the config schema. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = {"Print the sparktrain, Spark and Java versions and the BLAS implementation (no Spark job).",
        "With --schema: every config key with its default, what it accepts and what it means."})
final class InfoCommand implements Callable<Integer> {
  @Option(names = "--schema", description = "Print the job config schema (an annotated YAML of the defaults).")
  boolean schema;

  @Override
  public Integer call() {
    PrintStream out = Main.Streams.out();
    if (schema) {
      out.print(ConfigSchema.describe());
      return Main.OK;
    }
    Blas blas = Blas.get();
    out.println("sparktrain " + Main.version());
    out.println("Spark " + Main.sparkVersion() + " (Scala " + Properties.versionNumberString() + ")");
    out.println("Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
    out.println("BLAS " + blas.describe());
    out.println("native library " + (blas.nativeLibrary() == null ? "none (no native BLAS loaded)"
        : blas.nativeLibrary()));
    String threads = System.getenv("OPENBLAS_NUM_THREADS");
    out.println("OPENBLAS_NUM_THREADS " + (threads == null ? "unset (set it to 1: one BLAS thread per Spark task)"
        : threads));
    return Main.OK;
  }
}
