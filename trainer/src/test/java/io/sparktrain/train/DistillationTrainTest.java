package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.Predictions;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.FederatedTrainer;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Spark;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Distillation in real training runs on local[2]. The teacher is a network trained here on the
 * blobs' true labels, with its own input scaling.
 *
 * <ul>
 *   <li>The teacher is what the student learns from: given labels that are noise (a permutation of
 *       the true ones), a student with alpha 1 agrees with the teacher's classes on nearly every row,
 *       while the same student on the labels alone (alpha 0) cannot. Checked in sync mode, with the
 *       student standardizing its features differently from the teacher (so the folding of the
 *       scalings matters), and in federated mode, where each silo scores its own rows.
 *   <li>Every engine computes the same thing: sync on the local, collective and driver engines, and
 *       average on the collective and driver engines, give the same parameters with alpha 0.5.
 *   <li>The folding of the teacher's scaling onto the student's is exact (against the teacher on
 *       its own scaled rows), dense and CSR.
 * </ul>
 */
class DistillationTrainTest {
  private static SparkSession spark;
  private static List<Row> rows;
  /** The rows with labels permuted: noise the features cannot predict. */
  private static List<Row> noisy;
  private static Network teacherNet;
  private static float[] teacherParams;
  private static InputScaling teacherScaling;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2]", "DistillationTrainTest");
    rows = Blobs.rows(600, 5, false);
    List<Double> labels = new ArrayList<>();
    for (Row r : rows) labels.add(r.getDouble(1));
    Collections.shuffle(labels, new Random(9));
    noisy = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) noisy.add(RowFactory.create(rows.get(i).get(0), labels.get(i)));
    teacherNet = Network.builder(4).dense(32, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    // The teacher standardizes on the first 200 rows: other means than the students' (all 600).
    TrainingData t = data(rows.subList(0, 200), 2);
    TrainConfig cfg = TrainConfig.builder().epochs(20).batchSize(32).seed(1).standardize(true)
        .syncEngine(TrainConfig.SyncEngine.LOCAL).optimizer(OptimizerSpec.adam().learningRate(0.01).build()).build();
    TrainResult r = new Trainer(teacherNet, cfg).fit(t, null);
    t.unpersist();
    teacherParams = r.params();
    teacherScaling = r.inputScaling();
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static TrainingData data(List<Row> rs, int partitions) {
    return TrainingData.decode(Blobs.frame(spark, rs, partitions, Blobs.PLAIN),
        InputSpec.classification("features", "label"));
  }

  private static Network student() {
    return Network.builder(4).dense(8, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  private static Teacher teacher(float temperature, float alpha) {
    return Teacher.of(teacherNet, teacherParams, teacherScaling, temperature, alpha, "test teacher");
  }

  /** The rows' features (raw) as one array. */
  private static float[] features(List<Row> rs) {
    float[] x = new float[rs.size() * 4];
    for (int i = 0; i < rs.size(); i++) {
      Vector v = (Vector) rs.get(i).get(0);
      for (int j = 0; j < 4; j++) x[i * 4 + j] = (float) v.apply(j);
    }
    return x;
  }

  /** Class of each row: the network on the rows scaled by {@code scaling} (null: raw). */
  private static int[] classes(Network net, float[] params, InputScaling scaling, float[] raw) {
    int n = raw.length / 4;
    float[] x = raw.clone();
    if (scaling != null) {
      float[] m = scaling.shift();
      float[] k = scaling.scale();
      for (int i = 0; i < x.length; i++) x[i] = (x[i] - m[i % 4]) * k[i % 4];
    }
    float[] out = net.predict(params, x, n, net.newWorkspace());
    int[] c = new int[n];
    for (int i = 0; i < n; i++) c[i] = Predictions.argmax(out, i * 3, 3);
    return c;
  }

  private static double agreement(int[] a, int[] b) {
    int same = 0;
    for (int i = 0; i < a.length; i++) same += a[i] == b[i] ? 1 : 0;
    return same / (double) a.length;
  }

  @Test
  void withNoiseForLabelsTheStudentLearnsTheTeacher() {
    float[] x = features(rows);
    int[] teacherClasses = classes(teacherNet, teacherParams, teacherScaling, x);
    int[] truth = new int[rows.size()];
    for (int i = 0; i < truth.length; i++) truth[i] = (int) rows.get(i).getDouble(1);
    assertTrue(agreement(teacherClasses, truth) > 0.9, "the teacher has learnt the blobs");

    TrainingData d = data(noisy, 2);
    TrainConfig.Builder base = TrainConfig.builder().epochs(15).batchSize(32).seed(3).standardize(true)
        .syncEngine(TrainConfig.SyncEngine.LOCAL).optimizer(OptimizerSpec.adam().learningRate(0.01).build());
    TrainResult taught = new Trainer(student(), base.teacher(teacher(2f, 1f)).build()).fit(d, null);
    TrainResult alone = new Trainer(student(), base.teacher(null).build()).fit(d, null);
    d.unpersist();
    double withTeacher = agreement(classes(student(), taught.params(), taught.inputScaling(), x), teacherClasses);
    double labelsOnly = agreement(classes(student(), alone.params(), alone.inputScaling(), x), teacherClasses);
    assertTrue(withTeacher > 0.95, "distilled student agrees with its teacher on " + withTeacher);
    assertTrue(labelsOnly < 0.7, "a student of the noisy labels alone agrees on " + labelsOnly);
  }

  @Test
  void federatedSilosLearnTheTeacherFromTheirOwnRows() {
    float[] x = features(rows);
    int[] teacherClasses = classes(teacherNet, teacherParams, teacherScaling, x);
    TrainingData silos = data(noisy, 4);
    FederatedConfig.Builder b = FederatedConfig.builder().rounds(15).clientFraction(1.0).localEpochs(2)
        .localBatch(16).localOptimizer(OptimizerSpec.sgd().learningRate(0.2).build()).evalEveryRounds(0).seed(4);
    float[] taught = new FederatedTrainer(student(), b.teacher(teacher(2f, 1f)).build()).fit(silos, null).params();
    float[] alone = new FederatedTrainer(student(), b.teacher(null).build()).fit(silos, null).params();
    silos.unpersist();
    // Federated runs do not standardize: the students take raw features.
    double withTeacher = agreement(classes(student(), taught, null, x), teacherClasses);
    double labelsOnly = agreement(classes(student(), alone, null, x), teacherClasses);
    assertTrue(withTeacher > 0.95, "federated distilled student agrees with its teacher on " + withTeacher);
    assertTrue(labelsOnly < 0.7, "federated student of the noisy labels alone agrees on " + labelsOnly);
  }

  @Test
  void everyEngineComputesTheSameDistilledRun() {
    TrainingData d = data(rows, 2);
    TrainConfig.Builder sync = TrainConfig.builder().epochs(1).batchSize(64).seed(6).standardize(true)
        .teacher(teacher(3f, 0.5f)).optimizer(OptimizerSpec.adam().learningRate(0.01).build());
    float[] local = new Trainer(student(), sync.syncEngine(TrainConfig.SyncEngine.LOCAL).build()).fit(d, null)
        .params();
    float[] collective = new Trainer(student(), sync.syncEngine(TrainConfig.SyncEngine.COLLECTIVE).build())
        .fit(d, null).params();
    float[] driver = new Trainer(student(), sync.syncEngine(TrainConfig.SyncEngine.DRIVER).build()).fit(d, null)
        .params();
    float[] plain = new Trainer(student(), sync.syncEngine(TrainConfig.SyncEngine.LOCAL).teacher(null).build())
        .fit(d, null).params();
    assertArrayEquals(local, collective, 1e-5f, "sync: local vs collective engine");
    assertArrayEquals(local, driver, 1e-5f, "sync: local vs driver engine");
    assertTrue(maxDiff(local, plain) > 1e-3, "the teacher changes the run: " + maxDiff(local, plain));

    TrainConfig.Builder avg = TrainConfig.builder().mode(Mode.AVERAGE).localSteps(2).epochs(1).batchSize(32).seed(6)
        .teacher(teacher(3f, 0.5f)).optimizer(OptimizerSpec.adam().learningRate(0.01).build());
    float[] avgCollective = new Trainer(student(), avg.averageEngine(TrainConfig.SyncEngine.COLLECTIVE).build())
        .fit(d, null).params();
    float[] avgDriver = new Trainer(student(), avg.averageEngine(TrainConfig.SyncEngine.DRIVER).build())
        .fit(d, null).params();
    float[] avgPlain = new Trainer(student(), avg.teacher(null).build()).fit(d, null).params();
    d.unpersist();
    assertArrayEquals(avgCollective, avgDriver, 1e-5f, "average: collective vs driver engine");
    assertTrue(maxDiff(avgDriver, avgPlain) > 1e-3, "the teacher changes the average run");
  }

  private static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }

  @Test
  void theClassifierEstimatorDistillsFromASavedModel(@TempDir Path dir) throws IOException {
    NeuralNetClassificationModel t = new NeuralNetClassifier().setHiddenLayers(16).setActivation("tanh")
        .setMaxEpochs(6).setBatchSize(64).setLearningRate(0.03).setSeed(1)
        .fit(Blobs.frame(spark, rows, 2, Blobs.PLAIN));
    String teacherDir = dir.resolve("teacher").toString();
    t.save(teacherDir);
    NeuralNetClassifier student = new NeuralNetClassifier().setHiddenLayers(8).setMaxEpochs(6).setBatchSize(64)
        .setLearningRate(0.03).setSeed(3).setDistillationTeacher(teacherDir).setDistillationTemperature(2)
        .setDistillationAlpha(1);
    String saved = dir.resolve("student-estimator").toString();
    student.save(saved);
    NeuralNetClassifier loaded = NeuralNetClassifier.load(saved);
    assertEquals(teacherDir, loaded.getDistillationTeacher());
    assertEquals(2.0, loaded.getDistillationTemperature());
    assertEquals(1.0, loaded.getDistillationAlpha());
    NeuralNetClassificationModel m = loaded.fit(Blobs.frame(spark, noisy, 2, Blobs.PLAIN));
    List<Row> out = m.transform(Blobs.frame(spark, rows, 2, Blobs.PLAIN)).select("label", "prediction")
        .collectAsList();
    int right = 0;
    for (Row r : out) right += r.getDouble(0) == r.getDouble(1) ? 1 : 0;
    double accuracy = right / (double) out.size();
    assertTrue(accuracy > 0.9, "a student of noise labels, distilled from the saved teacher: accuracy " + accuracy);
    assertThrows(IllegalArgumentException.class, () -> new NeuralNetClassifier().setDistillationAlpha(-0.1));
  }

  @Test
  void foldingTheScalingsIsExactDenseAndSparse() {
    SplittableRandom rnd = new SplittableRandom(2);
    float[] ms = {0.5f, -1f, 2f, 0f};
    float[] ks = {2f, 0.25f, 1f, 3f};
    InputScaling student = new InputScaling(ms, ks);
    Teacher t = teacher(1f, 1f);
    Teacher folded = t.onInputs(student);
    int n = 7;
    float[] raw = new float[n * 4];
    for (int i = 0; i < raw.length; i++) raw[i] = i % 3 == 0 ? 0f : (float) rnd.nextGaussian() * 2f;
    float[] s = new float[raw.length];
    for (int i = 0; i < raw.length; i++) s[i] = (raw[i] - ms[i % 4]) * ks[i % 4];
    // The reference: the teacher on its own scaling of the raw rows.
    float[] tx = raw.clone();
    float[] mt = teacherScaling.shift();
    float[] kt = teacherScaling.scale();
    for (int i = 0; i < tx.length; i++) tx[i] = (tx[i] - mt[i % 4]) * kt[i % 4];
    float[] expected = teacherNet.logits(teacherParams, MiniBatch.wrap(4, 1, tx, new float[n], null, n),
        teacherNet.newWorkspace()).clone();
    float[] dense = teacherNet.logits(folded.params(), MiniBatch.wrap(4, 1, s, new float[n], null, n),
        teacherNet.newWorkspace());
    for (int i = 0; i < n * 3; i++) assertEquals(expected[i], dense[i], 1e-4, "dense logit " + i);

    // Sparse rows of a scale-only student scaling: the implicit zeros go through the bias.
    InputScaling scaleOnly = new InputScaling(new float[4], ks);
    Teacher foldedSparse = t.onInputs(scaleOnly);
    float[] ss = new float[raw.length];
    for (int i = 0; i < raw.length; i++) ss[i] = raw[i] * ks[i % 4];
    MiniBatch csr = new MiniBatch(4, 1);
    int nnz = 0;
    for (float v : ss) nnz += v != 0f ? 1 : 0;
    csr.resizeSparse(n, nnz, false);
    int at = 0;
    for (int r = 0; r < n; r++) {
      csr.rowPtr()[r] = at;
      for (int j = 0; j < 4; j++) {
        if (ss[r * 4 + j] != 0f) {
          csr.cols()[at] = j;
          csr.features()[at++] = ss[r * 4 + j];
        }
      }
    }
    csr.rowPtr()[n] = at;
    float[] sparse = teacherNet.logits(foldedSparse.params(), csr, teacherNet.newWorkspace());
    for (int i = 0; i < n * 3; i++) assertEquals(expected[i], sparse[i], 1e-4, "sparse logit " + i);
  }

  /** A teacher a caller never broadcast still carries its parameters into a task; a broadcast one does not. */
  @Test
  void aTeacherThatWasNotBroadcastTravelsWithItsParameters() throws Exception {
    Network wide = Network.builder(4).dense(4096, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build(); // 32,771 parameters: 128 KiB as floats
    float[] p = wide.initParameters(4);
    Teacher t = Teacher.of(wide, p, null, 2f, 0.5f, "wide");
    byte[] plain = serialize(t);
    assertTrue(plain.length > 4 * p.length, "an unbroadcast teacher carries its parameters: " + plain.length);
    assertArrayEquals(p, ((Teacher) deserialize(plain)).params(), 0f);
    Teacher shared = t.broadcast(JavaSparkContext.fromSparkContext(spark.sparkContext()));
    try {
      byte[] handle = serialize(shared);
      assertTrue(handle.length < 16 * 1024, "a broadcast teacher leaves its parameters behind: " + handle.length
          + " bytes");
      assertArrayEquals(p, ((Teacher) deserialize(handle)).params(), 0f, "read from the broadcast");
    } finally {
      shared.destroy();
    }
  }

  private static byte[] serialize(Object o) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(o);
    }
    return bytes.toByteArray();
  }

  private static Object deserialize(byte[] b) throws IOException, ClassNotFoundException {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
      return in.readObject();
    }
  }

  @Test
  void aTeacherThatDoesNotFitIsRefusedBeforeAnyWork() {
    Network wide = Network.builder(5).dense(4, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Teacher t = Teacher.of(wide, wide.initParameters(1), null, 2f, 0.5f, "runs/wide/model");
    TrainingData d = data(rows.subList(0, 50), 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Trainer(student(), TrainConfig.builder().teacher(t).build()).fit(d, null));
    d.unpersist();
    assertTrue(e.getMessage().contains("runs/wide/model") && e.getMessage().contains("expected a model of 4 features")
        && e.getMessage().contains("found 5"), e.getMessage());
    Network regressor = Network.builder(4).dense(3, Activation.IDENTITY).loss(Loss.MSE).build();
    IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
        () -> Teacher.of(regressor, regressor.initParameters(1), null, 2f, 0.5f, "runs/reg/model"));
    assertTrue(r.getMessage().contains("found loss mse"), r.getMessage());
  }
}
