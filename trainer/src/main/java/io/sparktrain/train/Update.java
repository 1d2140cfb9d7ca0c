package io.sparktrain.train;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparktrain.linalg.RowSlice;
import io.sparktrain.util.JavaBytes;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

/**
 * What a partition returns from a round, and what the aggregator merges: a model-sized vector
 * holding a weighted SUM (of gradients, or of weight deltas times the partition's example weight),
 * the total example weight behind it, the loss sum, and counts. The mean is {@code vector / weight},
 * formed once, on the driver.
 *
 * <p><b>Row-sparse updates.</b> When the network's first layer ran on sparse (CSR) features, the
 * vector's first kernel is zero outside the rows the partition's mini-batches touched, and
 * {@link #touched()} lists them. Such an update travels as those rows plus the dense rest when that is
 * smaller ({@link RowSlice#write}); {@link #uploadBytes()} sums what the partitions' updates took on
 * the wire. Merging keeps the union of the lists, or drops to dense when either side is dense.
 */
public final class Update implements Serializable, KryoSerializable {
  private static final long serialVersionUID = 2L;

  private transient float[] vector;
  private RowSlice touched;
  private long uploadBytes;
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
    this.uploadBytes = vector == null ? 0 : 4L * vector.length;
  }

  /**
   * Declares the vector zero outside {@code slice}'s rows of its slice (a sparse first layer's
   * kernel); null = dense. Returns this.
   */
  public Update withRows(RowSlice slice) {
    this.touched = slice;
    this.uploadBytes = vector == null ? 0 : RowSlice.wireBytes(vector, slice);
    return this;
  }

  /** Adds {@code other} into this (in place) and returns this. Either side may be empty. */
  public Update merge(Update other) {
    if (other.isEmpty()) {
      return this;
    }
    if (vector == null) {
      vector = other.vector.clone();
      touched = other.touched;
    } else {
      if (vector.length != other.vector.length) {
        throw new IllegalArgumentException("update merge: expected vectors of " + vector.length
            + " values, found " + other.vector.length);
      }
      float[] v = vector;
      float[] o = other.vector;
      if (touched != null && other.touched != null && touched.sameSlice(other.touched)) {
        other.touched.addInto(o, v);
        touched = touched.union(other.touched);
      } else {
        for (int i = 0; i < v.length; i++) v[i] += o[i];
        touched = null;
      }
    }
    uploadBytes += other.uploadBytes;
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
  /** The rows of the sparse first kernel the vector may be nonzero in, or null when dense. */
  public RowSlice touched() { return touched; }
  /** Bytes the merged partitions' vectors took on the wire (row-sparse where that was smaller). */
  public long uploadBytes() { return uploadBytes; }
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

  private void writeObject(ObjectOutputStream out) throws IOException {
    out.defaultWriteObject();
    RowSlice.write(out, vector, touched);
  }

  private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    vector = RowSlice.read(in);
  }

  /**
   * Spark's KryoSerializer (conf/spark-defaults.conf sets it) would skip the transient vector and
   * never call {@link #writeObject}: the Kryo form is the Java form, row-sparse where smaller.
   */
  @Override
  public void write(Kryo kryo, Output output) {
    JavaBytes.writeKryo(output, this);
  }

  @Override
  public void read(Kryo kryo, Input input) {
    Update u = JavaBytes.readKryo(input, Update.class, "update (Kryo)");
    vector = u.vector;
    touched = u.touched;
    uploadBytes = u.uploadBytes;
    weight = u.weight;
    lossSum = u.lossSum;
    rows = u.rows;
    steps = u.steps;
    parts = u.parts;
  }
}
