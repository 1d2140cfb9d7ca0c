package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code training.distillation} from the command line. A teacher is trained on iris; students are
 * then trained on iris with its labels shuffled (noise), distilled with alpha 1: a student that
 * learnt from the teacher scores well on the true labels, one that did not cannot (a third). Sync and
 * federated runs; bad sections stop with exit code 2, a missing teacher before the data is read.
 */
class DistillCliTest {
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = DriverTestData.session("sparktrain-distill-cli-test");
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  /** iris.csv with its labels permuted (seeded): rows whose labels the features cannot predict. */
  private static Path noisyIris(Path dir) throws IOException {
    List<String> lines = Files.readAllLines(Path.of(DriverTestData.iris()), StandardCharsets.UTF_8);
    List<String> labels = new ArrayList<>();
    for (String l : lines.subList(1, lines.size())) labels.add(l.substring(l.lastIndexOf(',') + 1));
    Collections.shuffle(labels, new Random(5));
    List<String> out = new ArrayList<>(List.of(lines.get(0)));
    for (int i = 1; i < lines.size(); i++) {
      String l = lines.get(i);
      out.add(l.substring(0, l.lastIndexOf(',') + 1) + labels.get(i - 1));
    }
    Path p = dir.resolve("noisy-iris.csv");
    Files.write(p, out, StandardCharsets.UTF_8);
    return p;
  }

  private static List<String> job(String train, Path out, String... more) {
    return DriverTestData.irisTrainArgs(train, out, more);
  }

  @Test
  void studentsOfNoisyLabelsLearnTheTeacher(@TempDir Path dir) throws IOException {
    Path teacherRun = dir.resolve("teacher");
    MainTest.Run t = MainTest.run(job(DriverTestData.iris(), teacherRun, "--set", "model.hidden=[16]",
        "--set", "model.activation=tanh", "--set", "training.epochs=30").toArray(new String[0]));
    assertEquals(0, t.code, t.err + t.out);
    assertTrue(DriverTestData.testAccuracy(t) > 0.9, "the teacher learnt iris: " + t.out);
    String teacher = teacherRun.resolve("model").toString();
    String noisy = noisyIris(dir).toString();
    // A teacher of other features: a config error (exit 2) naming the key, expected and found, before training.
    MainTest.Run misfit = MainTest.run(job(noisy, dir.resolve("misfit"), "--set", "data.features=[sepal_length]",
        "--set", "training.distillation={teacher: " + teacher + "}").toArray(new String[0]));
    assertEquals(2, misfit.code, misfit.err + misfit.out);
    assertTrue(misfit.err.contains("training.distillation.teacher " + teacher + ": expected a model of 1 features"
        + " (the student's), found 4"), misfit.err);
    String distill = "training.distillation={teacher: " + teacher + ", temperature: 2, alpha: 1}";

    Path sync = dir.resolve("sync");
    MainTest.Run s = MainTest.run(job(noisy, sync, "--set", "model.hidden=[8]", "--set", "training.epochs=30",
        "--set", distill).toArray(new String[0]));
    assertEquals(0, s.code, s.err + s.out);
    assertTrue(DriverTestData.testAccuracy(s) > 0.85, "the sync student learnt the teacher, not the noise: " + s.out);
    String summary = Files.readString(sync.resolve("summary.json"));
    assertTrue(summary.contains("\"distillation\"") && summary.contains(teacher), summary);

    Path fed = dir.resolve("fed");
    MainTest.Run f = MainTest.run(job(noisy, fed, "--set", "model.hidden=[8]", "--set", "training.mode=federated",
        "--set", "federated={rounds: 30, local_epochs: 2, local_batch: 10, eval_every_rounds: 30,"
            + " local_optimizer: {learning_rate: 0.1}}", "--set", "silos={source: iid, count: 3}",
        "--set", distill).toArray(new String[0]));
    assertEquals(0, f.code, f.err + f.out);
    assertTrue(DriverTestData.testAccuracy(f) > 0.85, "the federated student learnt the teacher: " + f.out);

    MainTest.Run alone = MainTest.run(job(noisy, dir.resolve("alone"), "--set", "model.hidden=[8]",
        "--set", "training.epochs=20").toArray(new String[0]));
    assertEquals(0, alone.code, alone.err + alone.out);
    assertTrue(DriverTestData.testAccuracy(alone) < 0.7, "without the teacher the noise teaches little: " + alone.out);
  }

  @Test
  void badDistillationSectionsStopBeforeTraining(@TempDir Path dir) {
    MainTest.Run reg = MainTest.run(job(DriverTestData.iris(), dir.resolve("r"), "--set", "model.task=regression",
        "--set", "data.label=petal_width", "--set", "data.features=[sepal_length]",
        "--set", "training.distillation={teacher: /nowhere}").toArray(new String[0]));
    assertEquals(2, reg.code, reg.err + reg.out);
    assertTrue(reg.err.contains("training.distillation: expected model.task classification"), reg.err);

    MainTest.Run alpha = MainTest.run(job(DriverTestData.iris(), dir.resolve("a"),
        "--set", "training.distillation={teacher: /nowhere, alpha: 1.5}").toArray(new String[0]));
    assertEquals(2, alpha.code, alpha.err + alpha.out);
    assertTrue(alpha.err.contains("training.distillation.alpha"), alpha.err);

    MainTest.Run noTeacher = MainTest.run(job(DriverTestData.iris(), dir.resolve("n"),
        "--set", "training.distillation={temperature: 3}").toArray(new String[0]));
    assertEquals(2, noTeacher.code, noTeacher.err + noTeacher.out);
    assertTrue(noTeacher.err.contains("training.distillation.teacher: missing"), noTeacher.err);

    // The teacher is read before the data: with both missing, the error names the teacher.
    Path missing = dir.resolve("no-such-model");
    Path noData = dir.resolve("no-such-data.csv");
    MainTest.Run gone = MainTest.run(job(noData.toString(), dir.resolve("g"),
        "--set", "training.distillation={teacher: " + missing + "}").toArray(new String[0]));
    assertFalse(gone.code == 0, gone.err + gone.out);
    assertTrue(gone.err.contains(missing.toString()) && !gone.err.contains(noData.toString()), gone.err);
    assertFalse(Files.exists(dir.resolve("g").resolve("model")), "no model written");
  }
}
