package io.sparktrain.explain;

import io.sparktrain.data.InvalidInputException;
import io.sparktrain.eval.Predictions;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import java.io.Serializable;

/**
 * The scalar F of one row's outputs that the gradient methods attribute, and dF/dz, its gradient for
 * the output layer's pre-activations z (what {@link Network#inputGradient} takes).
 *
 * <ul>
 *   <li>A classifier of K >= 2 outputs (softmax layer, or logits trained with softmax cross-entropy):
 *       probability {@code F = p_c}, {@code dF/dz_j = p_c (1[j = c] - p_j)}; logit {@code F = z_c}.
 *   <li>One sigmoid unit, or one logit trained with binary cross-entropy (K = 2): {@code q = sigmoid(z)};
 *       probability {@code F = q} for class 1 and {@code 1 - q} for class 0, {@code dF/dz = +-q (1 - q)};
 *       logit {@code F = +-z} (the log-odds of the class).
 *   <li>Anything else (a regressor): output t's activation {@code F = f(z_t)}, {@code dF/dz_t = f'(z_t)};
 *       logit {@code F = z_t}.
 * </ul>
 * The explained class c is fixed per row (the prediction at the row itself, or a given class), so the
 * path of integrated gradients explains one function from the baseline to the row.
 */
final class ModelOutput implements Serializable {
  private static final long serialVersionUID = 1L;

  private enum Kind { MULTICLASS, BINARY, OUTPUT }

  private final Kind kind;
  private final boolean logit;
  /** Multiclass: whether the network's outputs are logits (identity layer), not softmax probabilities. */
  private final boolean outputsAreLogits;
  /** Binary: whether the one output is a logit (identity) rather than sigmoid(z). */
  private final Activation outputActivation;
  private final int outputs;
  private final int classes;
  private final int fixedTarget;

  private ModelOutput(Kind kind, boolean logit, boolean outputsAreLogits, Activation act, int outputs, int classes,
      int fixedTarget) {
    this.kind = kind;
    this.logit = logit;
    this.outputsAreLogits = outputsAreLogits;
    this.outputActivation = act;
    this.outputs = outputs;
    this.classes = classes;
    this.fixedTarget = fixedTarget;
  }

  /** F for {@code net}: {@code output} of class (output) {@code target}, -1 = the predicted class (output 0). */
  static ModelOutput of(Network net, ExplainOptions.Output output, int target) {
    boolean logit = output == ExplainOptions.Output.LOGIT;
    Activation act = net.outputLayer().activation();
    int n = net.outputs();
    if (Predictions.isClassifier(net)) {
      int k = Predictions.numClasses(net);
      if (target >= k) {
        throw new InvalidInputException("target: expected a class in 0.." + (k - 1) + " (or -1, the predicted"
            + " class), found " + target);
      }
      if (n == 1) {
        return new ModelOutput(Kind.BINARY, logit, false, act, n, 2, target);
      }
      boolean logits = act.kind() == Activation.Kind.IDENTITY && net.loss().kind() == Loss.Kind.SOFTMAX_CROSS_ENTROPY;
      return new ModelOutput(Kind.MULTICLASS, logit, logits, act, n, k, target);
    }
    if (target >= n) {
      throw new InvalidInputException("target: expected an output in 0.." + (n - 1) + ", found " + target);
    }
    return new ModelOutput(Kind.OUTPUT, logit, false, act, n, 1, Math.max(target, 0));
  }

  /** Classes K of a classifier, else 1 (results per class then have one class). */
  int classes() {
    return classes;
  }

  boolean isClassifier() {
    return kind != Kind.OUTPUT;
  }

  /**
   * The explained class (output) of the row whose output activations are {@code h[off, off + outputs)}:
   * the fixed target, else the predicted class (the argmax of the probabilities, lowest on ties; 0 for a
   * regressor).
   */
  int target(float[] h, int off, float[] probs) {
    if (fixedTarget >= 0 || kind == Kind.OUTPUT) {
      return Math.max(fixedTarget, 0);
    }
    probabilities(h, off, probs);
    return Predictions.argmax(probs, 0, classes);
  }

  /** The class probabilities of one row into {@code probs[0, classes)}. */
  void probabilities(float[] h, int off, float[] probs) {
    if (kind == Kind.BINARY) {
      float q = outputActivation.kind() == Activation.Kind.SIGMOID ? h[off] : Activation.sigmoid(h[off]);
      probs[0] = 1f - q;
      probs[1] = q;
    } else {
      System.arraycopy(h, off, probs, 0, outputs);
      if (outputsAreLogits) {
        Activation.SOFTMAX.forward(probs, probs, 0, 1, outputs);
      }
    }
  }

  /**
   * F of class {@code c} for the row with activations {@code h} and pre-activations {@code z} (both at
   * {@code off}); writes dF/dz into {@code dz[dzOff, dzOff + outputs)} unless {@code dz} is null.
   * {@code probs} is scratch of at least {@code outputs} (and 2) values.
   */
  double value(float[] h, float[] z, int off, int c, float[] dz, int dzOff, float[] probs) {
    switch (kind) {
      case MULTICLASS: {
        if (logit) {
          if (dz != null) {
            for (int j = 0; j < outputs; j++) dz[dzOff + j] = j == c ? 1f : 0f;
          }
          return z[off + c];
        }
        probabilities(h, off, probs);
        float pc = probs[c];
        if (dz != null) {
          for (int j = 0; j < outputs; j++) dz[dzOff + j] = pc * ((j == c ? 1f : 0f) - probs[j]);
        }
        return pc;
      }
      case BINARY: {
        float sign = c == 1 ? 1f : -1f;
        if (logit) {
          if (dz != null) {
            dz[dzOff] = sign;
          }
          return sign * z[off];
        }
        probabilities(h, off, probs);
        float q = probs[1];
        if (dz != null) {
          dz[dzOff] = sign * q * (1f - q);
        }
        return c == 1 ? q : 1f - q;
      }
      case OUTPUT: {
        if (dz != null) {
          for (int j = 0; j < outputs; j++) dz[dzOff + j] = 0f;
          if (logit) {
            dz[dzOff + c] = 1f;
          } else {
            float[] one = {1f};
            float[] d = new float[1];
            outputActivation.backward(new float[] {z[off + c]}, new float[] {h[off + c]}, one, d, 0, 1, 1);
            dz[dzOff + c] = d[0];
          }
        }
        return logit ? z[off + c] : h[off + c];
      }
      default:
        throw new AssertionError(kind);
    }
  }

  /** What F is, in words, for reports. */
  String describe() {
    switch (kind) {
      case MULTICLASS:
      case BINARY:
        return (logit ? "logit" : "probability") + " of " + (fixedTarget >= 0 ? "class " + fixedTarget
            : "the predicted class");
      default:
        return (logit ? "pre-activation" : "value") + " of output " + fixedTarget;
    }
  }
}
