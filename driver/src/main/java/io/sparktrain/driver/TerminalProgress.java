package io.sparktrain.driver;

import io.sparktrain.train.EpochEvent;
import io.sparktrain.train.ProgressLogger;
import io.sparktrain.train.RoundEvent;
import io.sparktrain.train.TrainingListener;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * Training progress for people. On a terminal: a live bar per epoch, redrawn in place with
 * {@code \r} (rounds done/total, loss, samples/s, ETA of the epoch), replaced by a summary line
 * when the epoch ends. Elsewhere (a log file, a pipe, CI): plain lines, one per epoch and one every
 * N rounds.
 *
 * <p>Federated runs ({@link #federated}) have rounds and no epochs: the bar runs over all rounds
 * of the run ({@code round [===>  ] 3/10 ...}), and every evaluation round and the last round leave
 * a full line with the validation metrics ({@code round 10/10 loss ... val_accuracy ...}).
 */
public final class TerminalProgress implements TrainingListener {
  private static final int BAR = 24;

  private final PrintStream out;
  private final boolean terminal;
  private final int everyRounds;
  private final long minRedrawNanos;
  private final int width;
  private final boolean federated;

  // Per-epoch state.
  private int epoch = -1;
  private long epochRows;
  private double epochSeconds;
  private long roundsSeen;
  private long lastDraw = Long.MIN_VALUE;
  private int drawn; // characters of the bar currently on the line (0 = none)
  private Map<String, Double> lastValidation = Map.of();

  /**
   * For a run: renders as a live bar when stderr is a terminal, as plain lines (every epoch, and
   * every N rounds with N chosen from the epoch length) otherwise. Java cannot ask whether stderr
   * is a terminal, so the launching script says it with {@code -Dsparktrain.stderr.tty=true|false}
   * ({@code [ -t 2 ]}); without it, {@code System.console() != null} decides.
   */
  public TerminalProgress(PrintStream out) {
    this(out, stderrIsTerminal(), -1);
  }

  /** For a federated run, as {@link #TerminalProgress(PrintStream)}. */
  public static TerminalProgress federated(PrintStream out) {
    boolean terminal = stderrIsTerminal();
    return new TerminalProgress(out, terminal, -1, terminal ? 100 : 0, columns(), true);
  }

  static boolean stderrIsTerminal() {
    String tty = System.getProperty("sparktrain.stderr.tty");
    return tty != null ? Boolean.parseBoolean(tty) : System.console() != null;
  }

  /**
   * @param terminal    live bar redrawn with \r (true) or plain lines (false)
   * @param everyRounds plain mode: a line every this many rounds; 0 = epochs only; negative = about
   *                    ten lines per epoch
   */
  public TerminalProgress(PrintStream out, boolean terminal, int everyRounds) {
    this(out, terminal, everyRounds, terminal ? 100 : 0, columns());
  }

  /** As above, with the least time between two redraws of the bar and the terminal width (for tests). */
  public TerminalProgress(PrintStream out, boolean terminal, int everyRounds, long minRedrawMillis, int width) {
    this(out, terminal, everyRounds, minRedrawMillis, width, false);
  }

  /** As above; {@code federated}: render rounds of a federated run (no epochs). */
  public TerminalProgress(PrintStream out, boolean terminal, int everyRounds, long minRedrawMillis, int width,
      boolean federated) {
    this.federated = federated;
    this.out = out;
    this.terminal = terminal;
    this.everyRounds = everyRounds;
    this.minRedrawNanos = minRedrawMillis * 1_000_000L;
    this.width = Math.max(40, width);
  }

  private static int columns() {
    try {
      String c = System.getenv("COLUMNS");
      if (c != null) {
        return Integer.parseInt(c.trim());
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    return 100;
  }

  public boolean isTerminal() {
    return terminal;
  }

  @Override
  public synchronized void onRound(RoundEvent e) {
    if (federated) {
      onFederatedRound(e);
      return;
    }
    if (e.epoch() != epoch) {
      epoch = e.epoch();
      epochRows = 0;
      epochSeconds = 0;
      roundsSeen = 0;
      lastValidation = Map.of();
    }
    epochRows += e.rows();
    epochSeconds += e.seconds();
    roundsSeen++;
    if (!e.validation().isEmpty()) {
      lastValidation = e.validation();
    }
    double rate = epochSeconds > 0 ? epochRows / epochSeconds : 0;
    double perRound = epochSeconds / roundsSeen;
    long left = Math.max(0, e.roundsPerEpoch() - e.roundInEpoch());
    double eta = perRound * left;
    if (terminal) {
      long now = System.nanoTime();
      boolean last = e.roundInEpoch() >= e.roundsPerEpoch();
      if (roundsSeen == 1 || last || !e.validation().isEmpty() || lastDraw == Long.MIN_VALUE
          || now - lastDraw >= minRedrawNanos) {
        lastDraw = now;
        draw(bar(e, rate, eta));
      }
    } else {
      int n = everyRounds >= 0 ? everyRounds : (int) Math.max(1, (e.roundsPerEpoch() + 9) / 10);
      boolean lastOfEpoch = e.roundInEpoch() >= e.roundsPerEpoch();
      // The epoch line follows the last round, so that round needs no line of its own.
      if (n > 0 && e.roundInEpoch() % n == 0 && !lastOfEpoch) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
            "epoch %d/%d round %d/%d loss %.4f %s samples/s eta %s", e.epoch(), e.epochs(), e.roundInEpoch(),
            e.roundsPerEpoch(), e.loss(), rate(rate), ProgressLogger.duration(eta)));
        appendMetrics(sb, e.validation());
        out.println(sb);
        out.flush();
      }
    }
  }

  /** A federated round: roundsPerEpoch is the run's round count; the bar and the rate span the run. */
  private void onFederatedRound(RoundEvent e) {
    epochRows += e.rows();
    epochSeconds += e.seconds();
    roundsSeen++;
    boolean evaluated = e.validation().keySet().stream().anyMatch(k -> k.startsWith("val_"));
    if (evaluated) {
      lastValidation = e.validation();
    }
    double rate = epochSeconds > 0 ? epochRows / epochSeconds : 0;
    double eta = epochSeconds / roundsSeen * Math.max(0, e.roundsPerEpoch() - e.round());
    boolean last = e.round() >= e.roundsPerEpoch();
    if (terminal) {
      if (evaluated || last) {
        clearBar();
        out.println(roundLine(e, rate, eta));
        out.flush();
        lastDraw = Long.MIN_VALUE;
        return;
      }
      long now = System.nanoTime();
      if (lastDraw == Long.MIN_VALUE || now - lastDraw >= minRedrawNanos) {
        lastDraw = now;
        draw(roundBar(e, rate, eta));
      }
    } else {
      int n = everyRounds >= 0 ? everyRounds : (int) Math.max(1, (e.roundsPerEpoch() + 9) / 10);
      if (evaluated || last || n > 0 && e.round() % n == 0) {
        out.println(roundLine(e, rate, eta));
        out.flush();
      }
    }
  }

  private String roundLine(RoundEvent e, double rate, double eta) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "round %d/%d loss %.4f", e.round(),
        e.roundsPerEpoch(), e.loss()));
    for (Map.Entry<String, Double> v : e.validation().entrySet()) {
      if (v.getKey().equals("silos")) {
        sb.append(" silos ").append(Math.round(v.getValue()));
      } else {
        sb.append(String.format(Locale.ROOT, " %s %.4f", v.getKey(), v.getValue()));
      }
    }
    sb.append(String.format(Locale.ROOT, " %s samples/s elapsed %s eta %s", rate(rate),
        ProgressLogger.duration(e.elapsedSeconds()), ProgressLogger.duration(eta)));
    return sb.toString();
  }

  private String roundBar(RoundEvent e, double rate, double eta) {
    long total = Math.max(1, e.roundsPerEpoch());
    int full = (int) Math.floor(Math.min(1, (double) e.round() / total) * BAR);
    StringBuilder sb = new StringBuilder("round [");
    for (int i = 0; i < BAR; i++) sb.append(i < full ? '=' : i == full ? '>' : ' ');
    sb.append(String.format(Locale.ROOT, "] %d/%d  loss %.4f  %s samples/s  eta %s", e.round(), e.roundsPerEpoch(),
        e.loss(), rate(rate), ProgressLogger.duration(eta)));
    Double acc = lastValidation.get("val_accuracy");
    Double vl = lastValidation.get("val_loss");
    if (acc != null) {
      sb.append(String.format(Locale.ROOT, "  val_accuracy %.4f", acc));
    } else if (vl != null) {
      sb.append(String.format(Locale.ROOT, "  val_loss %.4f", vl));
    }
    return sb.toString();
  }

  private String bar(RoundEvent e, double rate, double eta) {
    long total = Math.max(1, e.roundsPerEpoch());
    double f = Math.min(1, (double) e.roundInEpoch() / total);
    int full = (int) Math.floor(f * BAR);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "epoch %d/%d [", e.epoch(), e.epochs()));
    for (int i = 0; i < BAR; i++) sb.append(i < full ? '=' : i == full ? '>' : ' ');
    sb.append(String.format(Locale.ROOT, "] %d/%d rounds  loss %.4f  %s samples/s  eta %s", e.roundInEpoch(),
        e.roundsPerEpoch(), e.loss(), rate(rate), ProgressLogger.duration(eta)));
    Double vl = lastValidation.get("val_loss");
    if (vl != null) {
      sb.append(String.format(Locale.ROOT, "  val_loss %.4f", vl));
    }
    return sb.toString();
  }

  /** Replaces the current line with {@code s}, cut to the terminal width so that it never wraps. */
  private void draw(String s) {
    if (s.length() > width - 1) {
      s = s.substring(0, width - 1);
    }
    StringBuilder sb = new StringBuilder("\r").append(s);
    for (int i = s.length(); i < drawn; i++) sb.append(' ');
    out.print(sb);
    out.flush();
    drawn = s.length();
  }

  /** Ends the bar's line: clears it, so that a full line can be printed in its place. */
  private void clearBar() {
    if (drawn > 0) {
      StringBuilder sb = new StringBuilder("\r");
      for (int i = 0; i < drawn; i++) sb.append(' ');
      out.print(sb.append('\r'));
      drawn = 0;
    }
  }

  @Override
  public synchronized void onEpoch(EpochEvent e) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "epoch %d/%d loss %.4f", e.epoch(), e.epochs(),
        e.trainLoss()));
    appendMetrics(sb, e.validation());
    sb.append(String.format(Locale.ROOT, " %s samples/s took %s elapsed %s eta %s", rate(e.samplesPerSecond()),
        ProgressLogger.duration(e.seconds()), ProgressLogger.duration(e.elapsedSeconds()),
        ProgressLogger.duration(e.etaSeconds())));
    if (terminal) {
      clearBar();
    }
    out.println(sb);
    out.flush();
    epoch = -1;
  }

  @Override
  public synchronized void onCheckpoint(long round, String path) {
    if (terminal) {
      clearBar();
    }
    out.println("checkpoint round " + round + " -> " + path);
    out.flush();
  }

  private static void appendMetrics(StringBuilder sb, Map<String, Double> m) {
    for (Map.Entry<String, Double> v : m.entrySet()) {
      sb.append(String.format(Locale.ROOT, " %s %.4f", v.getKey(), v.getValue()));
    }
  }

  private static String rate(double r) {
    return String.format(Locale.ROOT, "%.0f", r);
  }
}
