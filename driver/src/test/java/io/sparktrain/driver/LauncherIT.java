package io.sparktrain.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code scripts/sparktrain}, the command a user runs, on the jars {@code mvn package} built: the
 * first {@code train} writes a class-data sharing archive (published by a rename, no temporary file
 * left), the second maps it. The second run has {@code -Xshare:on}, so a JVM that cannot map the
 * archive stops instead of quietly loading every class again, and its class-loading log must show
 * Spark's and sparktrain's classes coming from the archive.
 */
class LauncherIT {
  private final Path root = Paths.get(System.getProperty("sparktrain.root", "..")).toAbsolutePath().normalize();
  private final Path itDir = Paths.get(System.getProperty("sparktrain.itDir", "target/it")).toAbsolutePath();

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void trainWritesThenMapsTheClassDataArchive() throws Exception {
    Path work = itDir.resolve("launcher-" + System.currentTimeMillis());
    Path cds = work.resolve("cds");
    Files.createDirectories(work);
    Path job = writeJob(work);

    // --help starts no Spark: it must not leave a (useless, small) archive under train's key.
    Path help = work.resolve("help.log");
    assertEquals(0, run(List.of("train", "--help"), help, Map.of("SPARKTRAIN_CDS_DIR", cds.toString())), log(help));
    assertTrue(!Files.exists(cds) || list(cds).isEmpty(), "train --help wrote " + (Files.exists(cds) ? list(cds) : ""));

    Path first = work.resolve("first.log");
    assertEquals(0, run(train(work, job, first), first, Map.of("SPARKTRAIN_CDS_DIR", cds.toString())), log(first));
    assertTrue(log(first).contains("test accuracy"), log(first));
    List<String> archives = list(cds);
    assertEquals(1, archives.size(), "one archive and no temporary file in " + cds + ": " + archives);
    assertTrue(archives.get(0).matches("sparktrain-[0-9a-f]{16}\\.jsa"), archives.toString());
    Object inode = Files.getAttribute(cds.resolve(archives.get(0)), "unix:ino");

    Path second = work.resolve("second.log");
    Path classes = work.resolve("classes.log");
    assertEquals(0, run(train(work, job, second), second, Map.of("SPARKTRAIN_CDS_DIR", cds.toString(),
        "SPARKTRAIN_JAVA_OPTS", "-Xshare:on -Xlog:class+load=info:file=" + classes)), log(second));
    assertTrue(log(second).contains("test accuracy"), log(second));
    assertEquals(archives, list(cds), "the second run uses the archive, it does not write another");
    assertEquals(inode, Files.getAttribute(cds.resolve(archives.get(0)), "unix:ino"), "the archive was replaced");
    String loaded = Files.readString(classes, StandardCharsets.UTF_8);
    for (String c : new String[] {"org.apache.spark.SparkContext", "org.apache.spark.sql.SparkSession",
        "io.sparktrain.driver.Main", "io.sparktrain.train.Trainer"}) {
      assertTrue(loaded.contains(c + " source: shared objects file (top)"),
          c + " should come from the dynamic archive: " + loaded.lines().filter(l -> l.contains(c + " "))
              .collect(Collectors.joining("\n")));
    }
    long shared = loaded.lines().filter(l -> l.contains("source: shared objects file")).count();
    long all = loaded.lines().filter(l -> l.contains(" source: ")).count();
    // About 74 %: the rest are picocli's Java 5 class files, which CDS cannot archive, and the hidden
    // classes (lambdas, generated code, proxies) defined at run time.
    assertTrue(shared > 0.6 * all, shared + " of " + all + " classes from the archives");
  }

  /** 120 rows of 3 features, the label 1 when x0 + x1 > 0: a CSV for training and one for testing. */
  private static Path writeJob(Path work) throws IOException {
    Random r = new Random(7);
    for (String name : new String[] {"train.csv", "test.csv"}) {
      StringBuilder csv = new StringBuilder("a,b,c,label\n");
      for (int i = 0; i < 120; i++) {
        double a = r.nextGaussian();
        double b = r.nextGaussian();
        csv.append(a).append(',').append(b).append(',').append(r.nextGaussian()).append(',')
            .append(a + b > 0 ? 1 : 0).append('\n');
      }
      Files.writeString(work.resolve(name), csv.toString(), StandardCharsets.UTF_8);
    }
    Path job = work.resolve("job.yaml");
    Files.writeString(job, "data:\n  format: csv\n  train: " + work.resolve("train.csv") + "\n  test: "
        + work.resolve("test.csv") + "\n  features: [a, b, c]\n  label: label\n"
        + "  options: {header: \"true\", inferSchema: \"true\"}\n"
        + "training:\n  epochs: 2\n", StandardCharsets.UTF_8);
    return job;
  }

  private static List<String> train(Path work, Path job, Path log) {
    return List.of("train", "--config", job.toString(), "--set",
        "output.dir=" + work.resolve(log.getFileName() + ".run"));
  }

  private int run(List<String> args, Path log, Map<String, String> env) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(root.resolve("scripts/sparktrain").toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(log.getParent().toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    // Whatever the calling shell set: archives on, local master, no extra JVM options unless given.
    pb.environment().remove("SPARK_MASTER");
    pb.environment().remove("SPARKTRAIN_JAVA_OPTS");
    pb.environment().put("SPARKTRAIN_CDS", "on");
    pb.environment().putAll(env);
    pb.environment().put("SPARKTRAIN_BUILD", "off");   // the jars of this build, never a nested mvn install
    Process p = pb.start();
    if (!p.waitFor(4, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("scripts/sparktrain did not finish in 4 minutes: " + log(log));
    }
    return p.exitValue();
  }

  private static List<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  private static String log(Path log) {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
