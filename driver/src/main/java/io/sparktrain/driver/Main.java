package io.sparktrain.driver;

import io.sparktrain.Version;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.driver.config.ConfigException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The sparktrain command line: {@code sparktrain train|experiment|evaluate|predict|explain|export|info}.
 * Exit codes: 0 ok; 2 bad usage or config (one line on stderr, before any Spark work); 1 failure at run time (one line
 * on stderr; the stack trace too with --verbose).
 */
@Command(name = "sparktrain", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
    description = "Neural-network training inside Apache Spark.",
    subcommands = {TrainCommand.class, ExperimentCommand.class, EvaluateCommand.class, PredictCommand.class,
        ExplainCommand.class, ExportCommand.class, InfoCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:ok", "1:failure at run time", "2:bad usage or config"})
public final class Main implements Callable<Integer> {
  public static final int OK = 0;
  public static final int FAILURE = 1;
  public static final int USAGE = 2;

  @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
      description = "On failure, print the stack trace too.")
  boolean verbose;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("sparktrain: missing command; expected one of train, experiment, evaluate,"
        + " predict, explain, export, info (see 'sparktrain --help')");
    return USAGE;
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  private static volatile boolean verboseRun;

  /** Whether the current command line asked for --verbose (stack traces, Spark's task failure logs). */
  static boolean verbose() {
    return verboseRun;
  }

  /** Runs the command line and returns the exit code (no System.exit). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    verboseRun = Arrays.asList(args).contains("--verbose") || Arrays.asList(args).contains("-v");
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setParameterExceptionHandler((ex, a) -> {
      String cmd = ex.getCommandLine().getCommandSpec().qualifiedName();
      err.println(cmd + ": " + oneLine(ex.getMessage()) + " (see '" + cmd + " --help')");
      return USAGE;
    });
    cl.setExecutionExceptionHandler((ex, cmdLine, parseResult) -> {
      if (ex instanceof ConfigException) {
        err.println("sparktrain: " + oneLine(ex.getMessage()));
        return USAGE;
      }
      err.println("sparktrain: error: " + describe(ex));
      if (cmdLine.getParseResult() != null && cmdLine.getParseResult().hasMatchedOption("--verbose")) {
        ex.printStackTrace(err);
      } else {
        err.println("sparktrain: (run with --verbose for the stack trace)");
      }
      return FAILURE;
    });
    // Commands get their streams from here.
    Streams.set(out, err);
    try {
      return cl.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  /** One line about a failure: an input error found in a task if there is one, else the message. */
  static String describe(Throwable ex) {
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (t instanceof InvalidInputException || t instanceof ConfigException) {
        return plain(oneLine(t.getMessage()));
      }
    }
    String msg = ex.getMessage();
    if (msg == null || msg.isBlank()) {
      Throwable c = ex.getCause();
      msg = c != null && c.getMessage() != null ? c.getMessage() : "";
    }
    String line = plain(msg.lines().findFirst().orElse("").trim());
    return ex.getClass().getSimpleName() + (line.isEmpty() ? "" : ": " + line);
  }

  /** Spark's message without its {@code [ERROR_CLASS]} prefix and {@code SQLSTATE: ...} suffix. */
  static String plain(String line) {
    String s = line.replaceFirst("^\\[[A-Z0-9_.]+\\]\\s*", "").replaceFirst("\\s*SQLSTATE: \\w+\\.?\\s*$", "");
    return s.isEmpty() ? line : s;
  }

  static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
  }

  /** The sparktrain version (from the build), or "unknown". */
  public static String version() {
    return Version.get();
  }

  /** Spark's version. */
  public static String sparkVersion() {
    return org.apache.spark.package$.MODULE$.SPARK_VERSION();
  }

  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sparktrain " + version() + " (Spark " + sparkVersion() + ")"};
    }
  }

  /** stdout/stderr of the current run (tests call {@link #run} with their own streams). */
  static final class Streams {
    private static volatile PrintStream out = System.out;
    private static volatile PrintStream err = System.err;

    static void set(PrintStream o, PrintStream e) {
      out = o;
      err = e;
    }

    static PrintStream out() { return out; }
    static PrintStream err() { return err; }
  }
}
