package io.sparktrain.nn;

import java.io.Serializable;
import java.util.Objects;

/**
 * An immutable dense layer spec: y = f(xW + b) with {@code units} outputs, followed in training by
 * inverted dropout at {@code dropout} rate (0 = none; never after the output layer).
 */
public final class LayerSpec implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int units;
  private final Activation activation;
  private final float dropout;

  public LayerSpec(int units, Activation activation, float dropout) {
    if (units <= 0) {
      throw new IllegalArgumentException("layer units: expected > 0, found " + units);
    }
    if (!(dropout >= 0f && dropout < 1f)) {
      throw new IllegalArgumentException("dropout rate: expected 0 <= rate < 1, found " + dropout);
    }
    this.units = units;
    this.activation = Objects.requireNonNull(activation, "activation");
    this.dropout = dropout;
  }

  public static LayerSpec dense(int units, Activation activation) {
    return new LayerSpec(units, activation, 0f);
  }

  public int units() { return units; }
  public Activation activation() { return activation; }
  public float dropout() { return dropout; }

  @Override
  public String toString() {
    return "Dense(" + units + ", " + activation + (dropout > 0 ? ", dropout=" + dropout : "") + ")";
  }
}
