package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.train.TestEvents;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TerminalProgressTest {
  /** 2 epochs of 10 rounds, 500 rows a round in 0.5 s (1000 samples/s); validation after round 15 and each epoch. */
  private static void run(TerminalProgress p) {
    long round = 0;
    for (int e = 1; e <= 2; e++) {
      for (int r = 1; r <= 10; r++) {
        round++;
        Map<String, Double> val = round == 15 ? Map.of("val_loss", 0.75) : Map.of();
        p.onRound(TestEvents.round(e, 2, round, r, 10, 1.0 / round, 500, 0.5, round * 0.5, val));
      }
      if (e == 1) {
        p.onCheckpoint(round, "/tmp/ckpt/round-10");
      }
      Map<String, Double> epochVal = new LinkedHashMap<>();
      epochVal.put("val_loss", 0.6 / e);
      epochVal.put("val_accuracy", 0.8 + e / 100.0);
      p.onEpoch(TestEvents.epoch(e, 2, round, 0.5 / e, epochVal,
          5.0, 5.0 * e, 5.0 * (2 - e), 5000));
    }
  }

  private static String capture(boolean terminal, int everyRounds, int width) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    run(new TerminalProgress(out, terminal, everyRounds, 0, width));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void terminalRedrawsOneBarPerEpochInPlace() {
    String s = capture(true, 0, 120);
    // Two epoch lines, one checkpoint line; the bars are redrawn with \r, never on lines of their own.
    String[] lines = s.split("\n", -1);
    assertEquals(4, lines.length, s);
    assertEquals("", lines[3]);
    assertEquals(20, s.split("\repoch \\d/2 \\[", -1).length - 1, s.replace("\r", "\\r"));
    // The first bar: round 1/10, loss 1, 1000 samples/s, 9 rounds left at 0.5 s = 5s.
    assertTrue(s.startsWith("\repoch 1/2 [==>"), s);
    assertTrue(s.contains("] 1/10 rounds  loss 1.0000  1000 samples/s  eta 5s"), s);
    assertTrue(s.contains("epoch 1/2 [========================] 10/10 rounds"), s);
    // After validation at round 15 the bar shows val_loss.
    assertTrue(s.contains("5/10 rounds  loss 0.0667  1000 samples/s  eta 3s  val_loss 0.7500"), s);
    // Each bar redraw is padded over the previous, longer one, and the line is cleared before a full line.
    String epochLine = "epoch 1/2 loss 0.5000 val_loss 0.6000 val_accuracy 0.8100 1000 samples/s took 5s elapsed 5s"
        + " eta 5s";
    assertTrue(s.contains("\r" + " ".repeat(10)), s);
    assertEquals(epochLine, lines[1], "after the checkpoint line no bar is left to clear");
    assertTrue(lines[0].endsWith("\rcheckpoint round 10 -> /tmp/ckpt/round-10"), lines[0]);
    assertTrue(lines[2].endsWith("\repoch 2/2 loss 0.2500 val_loss 0.3000 val_accuracy 0.8200 1000 samples/s"
        + " took 5s elapsed 10s eta 0s"), lines[2]);
  }

  @Test
  void terminalBarNeverWraps() {
    String s = capture(true, 0, 60);
    for (String part : s.split("[\r\n]")) {
      assertTrue(part.length() <= 59 || part.startsWith("epoch ") && part.contains("took"), part);
    }
    // Redraws are cut to the width.
    assertTrue(s.contains("\repoch 1/2 [=========================] 10/10 rounds  l".substring(0, 30)));
  }

  @Test
  void plainModePrintsLinesPerEpochAndEveryNRounds() {
    String s = capture(false, 4, 100);
    assertFalse(s.contains("\r"), "no carriage returns in plain mode");
    assertEquals(List.of(
        "epoch 1/2 round 4/10 loss 0.2500 1000 samples/s eta 3s",
        "epoch 1/2 round 8/10 loss 0.1250 1000 samples/s eta 1s",
        "checkpoint round 10 -> /tmp/ckpt/round-10",
        "epoch 1/2 loss 0.5000 val_loss 0.6000 val_accuracy 0.8100 1000 samples/s took 5s elapsed 5s eta 5s",
        "epoch 2/2 round 4/10 loss 0.0714 1000 samples/s eta 3s",
        "epoch 2/2 round 8/10 loss 0.0556 1000 samples/s eta 1s",
        "epoch 2/2 loss 0.2500 val_loss 0.3000 val_accuracy 0.8200 1000 samples/s took 5s elapsed 10s eta 0s"),
        List.of(s.strip().split("\n")));
  }

  @Test
  void plainModeEpochsOnlyAndDefaultInterval() {
    String epochsOnly = capture(false, 0, 100);
    assertEquals(3, epochsOnly.strip().split("\n").length, epochsOnly);
    // Negative: about ten lines per epoch; with 10 rounds, every round but the last (the epoch line follows).
    String auto = capture(false, -1, 100);
    assertEquals(2 * 9 + 2 + 1, auto.strip().split("\n").length, auto);
    assertTrue(auto.contains("epoch 2/2 round 5/10 loss 0.0667 1000 samples/s"
        + " eta 3s val_loss 0.7500"), auto);
  }

  /** A federated run of 6 rounds, 100 rows a round in 0.25 s; evaluation every 3 rounds; a checkpoint after 4. */
  private static String federated(boolean terminal, int everyRounds) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    TerminalProgress p = new TerminalProgress(out, terminal, everyRounds, 0, 120, true);
    for (int r = 1; r <= 6; r++) {
      Map<String, Double> m = new LinkedHashMap<>();
      if (r % 3 == 0) {
        m.put("val_loss", 0.5 / r);
        m.put("val_accuracy", 0.7 + r / 100.0);
      }
      m.put("silos", 2.0);
      p.onRound(TestEvents.round(1, 1, r, r, 6, 1.0 / r, 100, 0.25, r * 0.25, m));
      if (r == 4) {
        p.onCheckpoint(4, "/tmp/ckpt/ckpt-4");
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void federatedRoundsPrintALinePerEvaluationAndTheLastRound() {
    String plain = federated(false, 0);
    assertFalse(plain.contains("\r"));
    assertEquals(List.of(
        "round 3/6 loss 0.3333 val_loss 0.1667 val_accuracy 0.7300 silos 2 400 samples/s elapsed 1s eta 1s",
        "checkpoint round 4 -> /tmp/ckpt/ckpt-4",
        "round 6/6 loss 0.1667 val_loss 0.0833 val_accuracy 0.7600 silos 2 400 samples/s elapsed 2s eta 0s"),
        List.of(plain.strip().split("\n")));
    assertEquals(5, federated(false, 2).strip().split("\n").length, "rounds 2, 3, 4, 6 and the checkpoint");
    // On a terminal: a bar over the run's rounds between the full lines; no epoch bar.
    String bar = federated(true, 0);
    assertTrue(bar.startsWith("\rround [====>"), bar.replace("\r", "\\r"));
    assertTrue(bar.contains("] 1/6  loss 1.0000  400 samples/s  eta 1s"), bar);
    assertTrue(bar.contains("] 5/6  loss 0.2000  400 samples/s  eta 0s  val_accuracy 0.7300"), bar);
    assertFalse(bar.contains("epoch"), bar);
    String[] lines = bar.split("\n", -1);
    assertEquals(4, lines.length, bar);
    assertTrue(lines[0].endsWith("\rround 3/6 loss 0.3333 val_loss 0.1667 val_accuracy 0.7300 silos 2 400 samples/s"
        + " elapsed 1s eta 1s"), lines[0]);
    assertTrue(lines[1].endsWith("\rcheckpoint round 4 -> /tmp/ckpt/ckpt-4"), lines[1]);
    assertTrue(lines[2].endsWith("\rround 6/6 loss 0.1667 val_loss 0.0833 val_accuracy 0.7600 silos 2 400 samples/s"
        + " elapsed 2s eta 0s"), lines[2]);
  }

  @Test
  void constructorForRunsDecidesFromTheConsole() {
    TerminalProgress p = new TerminalProgress(new PrintStream(new ByteArrayOutputStream(), true,
        StandardCharsets.UTF_8));
    assertEquals(System.console() != null, p.isTerminal());
  }
}
