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
  void rejectsNonClassifiers() {
    Network reg = net(2, Activation.IDENTITY, Loss.MSE);
    assertFalse(Predictions.isClassifier(reg));
    assertThrows(IllegalArgumentException.class, () -> Predictions.numClasses(reg));
    Network multiLabel = net(3, Activation.SIGMOID, Loss.BINARY_CROSS_ENTROPY);
    assertThrows(IllegalArgumentException.class,
        () -> Predictions.classProbabilities(multiLabel, new float[3], 1));
  }
}
