package io.sparktrain.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import org.junit.jupiter.api.Test;

class PredictionsTest {
  private static Network net(int outputs, Activation act, Loss loss) {
    return Network.builder(3).dense(outputs, act).loss(loss).build();
  }

  @Test
  void softmaxOutputIsTakenAsIs() {
    Network n = net(3, Activation.SOFTMAX, Loss.SOFTMAX_CROSS_ENTROPY);
    float[] out = {0.2f, 0.3f, 0.5f, 0.1f, 0.1f, 0.8f};
    assertEquals(3, Predictions.numClasses(n));
    assertArrayEquals(out, Predictions.classProbabilities(n, out, 2));
  }

  @Test
  void logitsGetASoftmax() {
    Network n = net(3, Activation.IDENTITY, Loss.SOFTMAX_CROSS_ENTROPY);
    float[] p = Predictions.classProbabilities(n, new float[] {0f, (float) Math.log(2), (float) Math.log(3)}, 1);
    assertArrayEquals(new float[] {1 / 6f, 2 / 6f, 3 / 6f}, p, 1e-6f);
  }

  @Test
  void singleSigmoidOrBceLogitGivesTwoClasses() {
    Network sig = net(1, Activation.SIGMOID, Loss.BINARY_CROSS_ENTROPY);
    assertEquals(2, Predictions.numClasses(sig));
    assertArrayEquals(new float[] {0.75f, 0.25f, 0.1f, 0.9f},
        Predictions.classProbabilities(sig, new float[] {0.25f, 0.9f}, 2), 1e-7f);
    Network logit = net(1, Activation.IDENTITY, Loss.BINARY_CROSS_ENTROPY);
    assertEquals(2, Predictions.numClasses(logit));
    float[] p = Predictions.classProbabilities(logit, new float[] {0f, 2f}, 2);
    float s = (float) (1 / (1 + Math.exp(-2)));
    assertArrayEquals(new float[] {0.5f, 0.5f, 1 - s, s}, p, 1e-6f);
  }

  @Test
  void modelProbabilitiesKeepTheOutputWidthAndOneUnitIsThresholdedAtOneHalf() {
    float[] logits = {9f, 0f, (float) Math.log(2), (float) Math.log(3)};
    Predictions.toProbabilities(net(3, Activation.IDENTITY, Loss.SOFTMAX_CROSS_ENTROPY), logits, 1, 1);
    assertArrayEquals(new float[] {9f, 1 / 6f, 2 / 6f, 3 / 6f}, logits, 1e-6f, "softmax of the row at 1 only");
    assertEquals(2, Predictions.predictedClass(logits, 1, 3));
    assertEquals(0, Predictions.predictedClass(new float[] {0.4f, 0.4f, 0.2f}, 0, 3), "lowest index on ties");
    float[] probs = {0.2f, 0.3f, 0.5f};
    Predictions.toProbabilities(net(3, Activation.SOFTMAX, Loss.SOFTMAX_CROSS_ENTROPY), probs, 0, 1);
    assertArrayEquals(new float[] {0.2f, 0.3f, 0.5f}, probs, "softmax outputs stay");
    float[] sig = {0.25f, 0.5f, 0.5000001f};
    Predictions.toProbabilities(net(1, Activation.SIGMOID, Loss.BINARY_CROSS_ENTROPY), sig, 0, 3);
    assertArrayEquals(new float[] {0.25f, 0.5f, 0.5000001f}, sig, "a sigmoid unit stays P(class 1)");
    assertEquals(0, Predictions.predictedClass(sig, 0, 1));
    assertEquals(0, Predictions.predictedClass(sig, 1, 1), "p = 0.5: class 0, as the argmax of [1 - p, p]");
    assertEquals(1, Predictions.predictedClass(sig, 2, 1));
    float[] logit = {0f, 2f};
    Predictions.toProbabilities(net(1, Activation.IDENTITY, Loss.BINARY_CROSS_ENTROPY), logit, 0, 2);
    assertArrayEquals(new float[] {0.5f, (float) (1 / (1 + Math.exp(-2)))}, logit, 1e-6f, "a logit gets a sigmoid");
  }

  @Test
  void rejectsNonClassifiers() {
    Network reg = net(2, Activation.IDENTITY, Loss.MSE);
    assertFalse(Predictions.isClassifier(reg));
    assertThrows(IllegalArgumentException.class, () -> Predictions.numClasses(reg));
    Network multiLabel = net(3, Activation.SIGMOID, Loss.BINARY_CROSS_ENTROPY);
    assertThrows(IllegalArgumentException.class,
        () -> Predictions.classProbabilities(multiLabel, new float[3], 1));
  }
}
