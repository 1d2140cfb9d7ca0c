package io.sparktrain.train;

import java.io.Serializable;

/**
 * What a partition returns from a round, and what the aggregator merges: a model-sized vector
 * holding a weighted SUM (of gradients, or of weight deltas times the partition's example weight),
 * the total example weight behind it, the loss sum, and counts. The mean is {@code vector / weight},
 * formed once, on the driver.
 */
public final class Update implements Serializable {
  private static final long serialVersionUID = 1L;

  private float[] vector;
  private double weight;
  private double lossSum;
  private long rows;
  private long steps;
  private int parts;

  /** An empty update (the aggregator's zero); the vector is allocated on the first add. */
  public Update() {
  }

  public Update(float[] vector, double weight, double lossSum, long rows, long steps) {
    this.vector = vector;
    this.weight = weight;
    this.lossSum = lossSum;
    this.rows = rows;
    this.steps = steps;
    this.parts = 1;
  }

  /** Adds {@code other} into this (in place) and returns this. Either side may be empty. */
  public Update merge(Update other) {
    if (other.isEmpty()) {
      return this;
    }
    if (vector == null) {
      vector = other.vector.clone();
    } else {
      if (vector.length != other.vector.length) {
        throw new IllegalArgumentException("update merge: expected vectors of " + vector.length
            + " values, found " + other.vector.length);
      }
      float[] v = vector;
      float[] o = other.vector;
      for (int i = 0; i < v.length; i++) v[i] += o[i];
    }
    weight += other.weight;
    lossSum += other.lossSum;
    rows += other.rows;
    steps += other.steps;
    parts += other.parts;
    return this;
  }

  /** True when nothing was added (no vector). */
  public boolean isEmpty() {
    return vector == null;
  }

  /** The weighted sum (not a copy). */
  public float[] vector() { return vector; }
  public double weight() { return weight; }
  public double lossSum() { return lossSum; }
  public long rows() { return rows; }
  public long steps() { return steps; }
  /** How many partition updates were merged in. */
  public int parts() { return parts; }

  /** The weighted mean vector / weight (a new array), or zeros when the weight is 0. */
  public float[] mean() {
    float[] m = new float[vector.length];
    if (weight > 0) {
      float inv = (float) (1.0 / weight);
      for (int i = 0; i < m.length; i++) m[i] = vector[i] * inv;
    }
    return m;
  }

  /** Mean loss per unit of example weight. */
  public double meanLoss() {
    return weight > 0 ? lossSum / weight : Double.NaN;
  }
}
