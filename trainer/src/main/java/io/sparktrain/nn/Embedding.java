package io.sparktrain.nn;

import java.io.Serializable;
import java.util.Locale;

/**
 * One embedding table of a network: {@code buckets} rows of {@code dim} floats. A mini-batch row
 * carries a bag of bucket ids per table (one id for a single-valued column); the table's output for
 * the row is the mean (or sum) of the bag's rows, as PyTorch's {@code nn.EmbeddingBag} and
 * TensorFlow's {@code embedding_column} combine them, and an empty bag gives zeros. The outputs of
 * all tables are concatenated after the numeric features as the first dense layer's input (wide and
 * deep). Which values map to which bucket (hashing, the out-of-vocabulary bucket) is the data
 * layer's business ({@code io.sparktrain.data.CategoricalColumn}); the network sees ids only.
 */
public final class Embedding implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How a bag of rows becomes one vector. */
  public enum Combiner {
    MEAN, SUM;

    /** "mean" or "sum" (any case). */
    public static Combiner parse(String s) {
      for (Combiner c : values()) {
        if (c.name().equalsIgnoreCase(s.trim())) {
          return c;
        }
      }
      throw new IllegalArgumentException("embedding combiner: expected mean or sum, found '" + s + "'");
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final int buckets;
  private final int dim;
  private final Combiner combiner;

  public Embedding(int buckets, int dim, Combiner combiner) {
    if (buckets < 2 || dim <= 0) {
      throw new IllegalArgumentException("embedding: expected buckets >= 2 (at least one value and the"
          + " out-of-vocabulary bucket) and dim > 0, found buckets " + buckets + " and dim " + dim);
    }
    this.buckets = buckets;
    this.dim = dim;
    this.combiner = combiner;
  }

  public int buckets() { return buckets; }
  public int dim() { return dim; }
  public Combiner combiner() { return combiner; }

  @Override
  public boolean equals(Object o) {
    return o instanceof Embedding && ((Embedding) o).buckets == buckets && ((Embedding) o).dim == dim
        && ((Embedding) o).combiner == combiner;
  }

  @Override
  public int hashCode() {
    return (31 * buckets + dim) * 31 + combiner.hashCode();
  }

  /** {@code emb(buckets x dim, mean)}. */
  @Override
  public String toString() {
    return "emb(" + buckets + "x" + dim + "," + combiner + ")";
  }
}
