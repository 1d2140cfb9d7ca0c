package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.InputScaling;
import io.sparktrain.data.InputSpec;
import io.sparktrain.data.InvalidInputException;
import io.sparktrain.data.TrainingData;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.FederatedPretraining;
import io.sparktrain.federated.FederatedTrainer;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetClassifier;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Autoencoder;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.testing.Blobs;
import io.sparktrain.testing.Faults;
import io.sparktrain.testing.Spark;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pretraining in real runs on local[2,4] (up to 4 attempts per task, for the retry test). The rows
 * are 8 features near a 2-D subspace (shifted and scaled, so standardization matters); the
 * unlabeled ones are a DataFrame with a features column and nothing else.
 *
 * <ul>
 *   <li>Every engine pretrains the same: sync on the local, collective and driver engines, average on
 *       the collective and driver engines, within 1e-5; a task that fails once is retried with the
 *       identical corruption; the reconstruction loss falls.
 *   <li>The supervised run starts from the pretrained hidden layers with a fresh output layer and the
 *       pretraining rows' scaling, in the library, the Estimator (against the same steps done by
 *       hand) and federated runs (silos pretrain on their own rows).
 *   <li>Errors: unlabeled rows for a supervised run, sparse vectors, DP with federated pretraining.
 * </ul>
 */
class PretrainingTest {
  private static final int D = 8;
  private static final StructType FEATURES_ONLY = new StructType().add("features", new VectorUDT());
  private static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = Spark.session("local[2,4]", "PretrainingTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  /** n rows x = A z + noise, shifted by 3 and scaled per feature; label = (z0 > 0); with or without the label. */
  private static List<Row> rows(int n, long seed, boolean labeled) {
    Random r = new Random(seed);
    Random a = new Random(1); // the same subspace for every set
    double[][] basis = new double[D][2];
    for (double[] row : basis) {
      row[0] = a.nextGaussian();
      row[1] = a.nextGaussian();
    }
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double z0 = r.nextGaussian();
      double z1 = r.nextGaussian();
      double[] x = new double[D];
      for (int j = 0; j < D; j++) {
        x[j] = 3 + (1 + j) * (basis[j][0] * z0 + basis[j][1] * z1 + 0.1 * r.nextGaussian());
      }
      out.add(labeled ? RowFactory.create(Vectors.dense(x), z0 > 0 ? 1.0 : 0.0) : RowFactory.create(Vectors.dense(x)));
    }
    return out;
  }

  private static Dataset<Row> unlabeledFrame(int n, long seed, int partitions) {
    return Blobs.frame(spark, rows(n, seed, false), partitions, FEATURES_ONLY);
  }

  private static Dataset<Row> labeledFrame(int n, long seed, int partitions) {
    return Blobs.frame(spark, rows(n, seed, true), partitions, Blobs.PLAIN);
  }

  private static final InputSpec SPEC = InputSpec.classification("features", "label");

  private static TrainingData unlabeled(int n, long seed, int partitions) {
    return TrainingData.decode(unlabeledFrame(n, seed, partitions), SPEC.unlabeled(), "pretraining");
  }

  private static TrainingData labeled(int n, long seed, int partitions) {
    return TrainingData.decode(labeledFrame(n, seed, partitions), SPEC);
  }

  private static Network net() {
    return Network.builder(D).dense(6, Activation.TANH).dense(3, Activation.TANH).dense(2, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  private static TrainConfig.Builder sync() {
    return TrainConfig.builder().batchSize(32).seed(5).standardize(true)
        .optimizer(OptimizerSpec.adam().learningRate(0.01).build());
  }

  private static final Pretraining PRE = Pretraining.denoisingAutoencoder(2, Corruption.masking(0.25));

  private static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }

  @Test
  void everyEngineComputesTheSamePretrainingOfRowsWithoutLabels() {
    TrainingData u = unlabeled(320, 2, 2);
    assertFalse(u.labeled());
    assertEquals(0, u.labelWidth());
    Pretraining.Result local = PRE.run(net(), sync().syncEngine(TrainConfig.SyncEngine.LOCAL).build(), u);
    Pretraining.Result collective = PRE.run(net(), sync().syncEngine(TrainConfig.SyncEngine.COLLECTIVE).build(), u);
    Pretraining.Result driver = PRE.run(net(), sync().syncEngine(TrainConfig.SyncEngine.DRIVER).build(), u);
    assertArrayEquals(local.params(), collective.params(), 1e-5f, "sync: local vs collective engine");
    assertArrayEquals(local.params(), driver.params(), 1e-5f, "sync: local vs driver engine");
    Network ae = Autoencoder.of(net());
    assertEquals(ae.architecture(), local.autoencoder().architecture());
    assertTrue(maxDiff(local.params(), ae.initParameters(5)) > 1e-2, "the autoencoder was trained");
    Pretraining.Result clean = Pretraining.denoisingAutoencoder(2, Corruption.masking(0))
        .run(net(), sync().syncEngine(TrainConfig.SyncEngine.LOCAL).build(), u);
    assertTrue(maxDiff(local.params(), clean.params()) > 1e-3, "the noise changes the run");

    TrainConfig.Builder avg = sync().mode(Mode.AVERAGE).localSteps(2).batchSize(16);
    Pretraining.Result avgCollective = PRE.run(net(), avg.averageEngine(TrainConfig.SyncEngine.COLLECTIVE).build(), u);
    Pretraining.Result avgDriver = PRE.run(net(), avg.averageEngine(TrainConfig.SyncEngine.DRIVER).build(), u);
    assertArrayEquals(avgCollective.params(), avgDriver.params(), 1e-5f, "average: collective vs driver engine");

    // The encoder learns on the pretraining rows' standardization, which the result hands on.
    InputScaling s = u.fitScaling(2);
    assertArrayEquals(s.shift(), local.inputScaling().shift());
    assertArrayEquals(s.scale(), local.inputScaling().scale());
    u.unpersist();
  }

  @Test
  void theReconstructionLossFallsAndARetriedTaskCorruptsIdentically() {
    TrainingData u = unlabeled(600, 3, 2);
    Pretraining long20 = Pretraining.denoisingAutoencoder(20, Corruption.gaussian(0.3));
    List<Double> losses = long20.run(net(), sync().syncEngine(TrainConfig.SyncEngine.LOCAL).build(), u).losses();
    assertEquals(20, losses.size());
    assertTrue(losses.get(19) < 0.5 * losses.get(0), "reconstruction MSE per epoch: " + losses);
    assertTrue(losses.get(19) < 0.3, "8 standardized features near a plane, through 3 units: " + losses);

    for (Mode mode : new Mode[] {Mode.SYNC, Mode.AVERAGE}) {
      TrainConfig.Builder b = sync().mode(mode).localSteps(2).syncEngine(TrainConfig.SyncEngine.DRIVER)
          .averageEngine(TrainConfig.SyncEngine.DRIVER);
      float[] undisturbed = PRE.run(net(), b.build(), u).params();
      String failures = Faults.counter();
      TaskHook hook = (round, partition, attempt) -> {
        if (round == 3 && partition == 1 && attempt == 0) {
          Faults.increment(failures);
          throw new IllegalStateException("injected failure in round 3, partition 1");
        }
      };
      float[] retried = PRE.run(net(), b.taskHook(hook).build(), u).params();
      assertEquals(1, Faults.count(failures), "the hook failed exactly one task");
      assertArrayEquals(undisturbed, retried, mode + ": the retried task drew the same corruption");
    }
    u.unpersist();
  }

  @Test
  void theSupervisedRunStartsFromThePretrainedHiddenLayers() {
    TrainingData u = unlabeled(600, 4, 2);
    TrainingData train = labeled(60, 5, 2);
    Network net = net();
    Pretraining.Result pre = PRE.run(net, sync().syncEngine(TrainConfig.SyncEngine.LOCAL).build(), u);
    float[] init = pre.initialParams();
    int enc = Autoencoder.encoderSize(net);
    assertArrayEquals(Arrays.copyOf(pre.params(), enc), Arrays.copyOf(init, enc), "the hidden layers: the encoder");
    float[] fresh = net.initParameters(5);
    assertArrayEquals(Arrays.copyOfRange(fresh, enc, fresh.length), Arrays.copyOfRange(init, enc, init.length),
        "the output layer: fresh from the seed");

    // One round at a learning rate that moves nothing: the run ends where it started.
    TrainConfig still = sync().syncEngine(TrainConfig.SyncEngine.LOCAL).maxRounds(1)
        .optimizer(OptimizerSpec.sgd().learningRate(1e-30).build()).build();
    TrainResult r = new Trainer(net, still).fit(train, null, init, pre.inputScaling());
    assertArrayEquals(init, r.params(), 1e-6f, "the supervised run started from the pretrained layers");
    assertArrayEquals(pre.inputScaling().shift(), r.inputScaling().shift(), "with pretraining's scaling");
    InputScaling own = train.fitScaling(2);
    assertTrue(maxDiff(own.shift(), pre.inputScaling().shift()) > 1e-3, "which is not the labeled rows' own");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Trainer(net, sync().standardize(false).build()).fit(train, null, init, pre.inputScaling()));
    assertTrue(e.getMessage().contains("input scaling: expected none for a run that does not standardize"),
        e.getMessage());
    train.unpersist();
    u.unpersist();
  }

  @Test
  void theEstimatorPretrainsOnItsUnlabeledRowsAsTheLibraryDoes(@TempDir Path dir) throws IOException {
    Dataset<Row> unlabeledDf = unlabeledFrame(600, 6, 2);
    Dataset<Row> labeledDf = labeledFrame(80, 7, 2);
    NeuralNetClassifier est = new NeuralNetClassifier().setHiddenLayers(6, 3).setActivation("tanh").setMaxEpochs(3)
        .setBatchSize(32).setLearningRate(0.01).setSeed(5).setPretrainEpochs(2).setPretrainNoise("masking(0.25)")
        .setPretrainBatchSize(64).setPretrainData(unlabeledDf);
    NeuralNetClassificationModel model = est.fit(labeledDf);
    assertEquals(2, model.summary().pretrainLossHistory().length);

    // The same steps by hand: pretraining on the unlabeled rows, then the supervised run from its result.
    Network net = est.buildNetwork(D, 2);
    TrainConfig cfg = est.trainConfig();
    TrainingData u = TrainingData.decode(unlabeledDf, SPEC.unlabeled());
    TrainingData train = TrainingData.decode(labeledDf, SPEC);
    Pretraining.Result pre = PRE.withBatchSize(64).run(net, cfg, u);
    TrainResult byHand = new Trainer(net, cfg).fit(train, null, pre.initialParams(), pre.inputScaling());
    assertArrayEquals(byHand.params(), model.parameters(), 1e-6f);
    assertArrayEquals(pre.inputScaling().shift(), model.inputScaling().shift(),
        "the model keeps pretraining's scaling");
    float[] scratch = new NeuralNetClassifier().setHiddenLayers(6, 3).setActivation("tanh").setMaxEpochs(3)
        .setBatchSize(32).setLearningRate(0.01).setSeed(5).fit(labeledDf).parameters();
    assertTrue(maxDiff(scratch, model.parameters()) > 1e-2, "pretraining changes the model");
    u.unpersist();
    train.unpersist();

    assertSame(unlabeledDf, est.copy(ParamMap.empty()).getPretrainData(), "copies keep the unlabeled rows");
    String saved = dir.resolve("estimator").toString();
    est.save(saved);
    NeuralNetClassifier loaded = NeuralNetClassifier.load(saved);
    assertEquals(2, loaded.getPretrainEpochs());
    assertEquals("masking(0.25)", loaded.getPretrainNoise());
    assertEquals(64, loaded.getPretrainBatchSize());
    IllegalArgumentException noise = assertThrows(IllegalArgumentException.class,
        () -> new NeuralNetClassifier().setPretrainNoise("salt(0.1)"));
    assertTrue(noise.getMessage().contains("pretrainNoise") && noise.getMessage().contains(Corruption.FORMS),
        noise.getMessage());
    IllegalArgumentException cats = assertThrows(IllegalArgumentException.class,
        () -> new NeuralNetClassifier().setCategoricalCols("c").setEmbeddingBuckets(4).setPretrainEpochs(1)
            .fit(labeledDf));
    assertTrue(cats.getMessage().contains("param 'pretrainEpochs': expected 0 with categoricalCols"),
        cats.getMessage());
  }

  @Test
  void federatedSilosPretrainOnTheirOwnRows() {
    TrainingData silos = labeled(300, 8, 3);
    FederatedConfig fc = FederatedConfig.builder().rounds(5).clientFraction(1.0).localEpochs(2).localBatch(16)
        .localOptimizer(OptimizerSpec.sgd().learningRate(0.05).build()).evalEveryRounds(0).seed(4).build();
    Pretraining pre = Pretraining.denoisingAutoencoder(8, Corruption.masking(0.2));
    Network net = net();
    Pretraining.Result a = FederatedPretraining.run(pre, net, fc, silos);
    Pretraining.Result b = FederatedPretraining.run(pre, net, fc, silos);
    assertArrayEquals(a.params(), b.params(), "the same rounds, the same corruption");
    assertEquals(8, a.losses().size(), "one loss per round");
    assertTrue(a.losses().get(7) < a.losses().get(0), "reconstruction loss per round: " + a.losses());
    assertEquals(null, a.inputScaling(), "federated runs do not standardize");

    float[] init = a.initialParams();
    FederatedConfig still = fc.toBuilder().rounds(1).localOptimizer(OptimizerSpec.sgd().learningRate(1e-30).build())
        .build();
    float[] after = new FederatedTrainer(net, still).fit(silos, null, init).params();
    assertArrayEquals(init, after, 1e-6f, "the federated supervised run started from the pretrained layers");

    IllegalArgumentException dp = assertThrows(IllegalArgumentException.class, () -> FederatedPretraining.config(pre,
        fc.toBuilder().differentialPrivacy(1.0, 1.0, 1e-5).build()));
    assertTrue(dp.getMessage().startsWith("federated.dp: expected null in a pretraining run"), dp.getMessage());
    silos.unpersist();
  }

  @Test
  void whatCannotBePretrainedIsRefusedWithTheReason() {
    TrainConfig supervised = sync().epochs(7).maxRounds(3).earlyStopping("val_loss", 2, 0).build();
    TrainConfig own = PRE.withBatchSize(64).config(supervised);
    assertEquals(64, own.batchSize(), "pretraining's own batch size");
    assertEquals(32, PRE.config(supervised).batchSize(), "else the supervised run's");
    assertEquals(2, own.epochs());
    assertEquals(0, own.maxRounds());
    assertFalse(own.earlyStopping().enabled());
    assertEquals(Corruption.masking(0.25), own.reconstruction());
    assertEquals(supervised.optimizer().toString(), own.optimizer().toString());
    assertTrue(own.standardize());

    TrainingData u = unlabeled(40, 9, 1);
    InvalidInputException noLabel = assertThrows(InvalidInputException.class,
        () -> new Trainer(net(), sync().build()).fit(u, null));
    assertTrue(noLabel.getMessage().startsWith("training data: expected a label column (1 value(s) per row for loss"
        + " softmax_cross_entropy), found data decoded without labels"), noLabel.getMessage());
    TrainingData val = labeled(20, 10, 1);
    IllegalArgumentException withVal = assertThrows(IllegalArgumentException.class,
        () -> new Trainer(Autoencoder.of(net()), PRE.config(sync().build())).fit(u, val));
    assertTrue(withVal.getMessage().startsWith("reconstruction run: expected no validation data"),
        withVal.getMessage());
    val.unpersist();
    u.unpersist();

    List<Row> sparse = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      sparse.add(RowFactory.create(Vectors.sparse(D, new int[] {i % D}, new double[] {1.0})));
    }
    TrainingData csr = TrainingData.decode(Blobs.frame(spark, sparse, 1, FEATURES_ONLY), SPEC.unlabeled());
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> PRE.run(net(), sync().build(), csr));
    assertTrue(e.getMessage().startsWith("training.pretrain (training data): expected dense feature vectors, found"
        + " sparse (CSR) vectors in 1 of 1 partitions"), e.getMessage());
    csr.unpersist();

    Teacher t = Teacher.of(net(), net().initParameters(1), null, 2f, 0.5f, "test teacher");
    IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.builder().teacher(t).reconstruction(Corruption.masking(0.1)).build());
    assertTrue(both.getMessage().startsWith("training.distillation: expected null in a reconstruction run"),
        both.getMessage());
  }
}
