package io.sparktrain.data;

import io.sparktrain.nn.Embedding;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;
import scala.collection.Seq;

/**
 * A categorical input column and its embedding table: which values land in which of the table's
 * {@code buckets} rows, and the table's {@code dim}.
 *
 * <p><b>Values to buckets.</b> Bucket {@code buckets - 1} is the out-of-vocabulary (OOV) bucket.
 * <ul>
 *   <li>Integer ids (any integral type, or floating values that are whole numbers, as
 *       {@code StringIndexer} writes them): id {@code i} in {@code 0 .. buckets - 2} is bucket
 *       {@code i}; a negative id or one of {@code buckets - 1} or more (an unseen index, such as
 *       {@code StringIndexer}'s {@code handleInvalid = "keep"} index) is the OOV bucket.
 *   <li>Strings: hashed into {@code 0 .. buckets - 2} with MurmurHash3 (x86, 32-bit, seed 42) of
 *       the UTF-8 bytes, non-negative modulo {@code buckets - 1}: the index Spark's
 *       {@code HashingTF} with {@code numFeatures = buckets - 1} gives the same term. Unseen strings
 *       share buckets with the strings they collide with (the hashing trick).
 *   <li>Booleans: false is 0, true is 1.
 *   <li>Null is the OOV bucket, never an error.
 *   <li>Arrays of any of these are bags: every element is looked up and the rows are combined
 *       ({@link Embedding.Combiner}: mean by default); a null element is the OOV bucket, and an
 *       empty array gives a zero vector (as {@code nn.EmbeddingBag}).
 * </ul>
 * A floating value that is not a whole number is bad input and gets a clear error.
 *
 * <p><b>Kind.</b> Decoding records what the column held ({@link #kind()}: numbers, strings or
 * booleans, as values or in arrays), and a model keeps it: scoring strings with a model trained on
 * integer ids (or the other way round) would look the values up in unrelated rows, so it is refused.
 */
public final class CategoricalColumn implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The seed of Spark's HashingTF. */
  private static final int SEED = 42;

  /** What a column's values (or array elements) are, as decoding saw them. */
  public static final String NUMBERS = "numbers";
  public static final String STRINGS = "strings";
  public static final String BOOLEANS = "booleans";

  private final String column;
  private final Embedding embedding;
  /** {@link #NUMBERS}, {@link #STRINGS}, {@link #BOOLEANS}, or "" before the data was seen. */
  private final String kind;

  public CategoricalColumn(String column, int buckets, int dim, Embedding.Combiner combiner) {
    this(column, buckets, dim, combiner, "");
  }

  private CategoricalColumn(String column, int buckets, int dim, Embedding.Combiner combiner, String kind) {
    this.kind = kind;
    if (column == null || column.isEmpty()) {
      throw new IllegalArgumentException("categorical column: expected a column name, found none");
    }
    this.column = column;
    try {
      this.embedding = new Embedding(buckets, dim, Objects.requireNonNull(combiner, "combiner"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("categorical column '" + column + "': " + e.getMessage(), e);
    }
  }

  /** Bags averaged. */
  public CategoricalColumn(String column, int buckets, int dim) {
    this(column, buckets, dim, Embedding.Combiner.MEAN);
  }

  public String column() { return column; }
  /** What the column held when decoded ({@link #NUMBERS}, {@link #STRINGS}, {@link #BOOLEANS}), or "" when unknown. */
  public String kind() { return kind; }

  /** This column with its values' kind (from {@link #kindOf}). */
  public CategoricalColumn withKind(String k) {
    return new CategoricalColumn(column, buckets(), dim(), combiner(), k);
  }

  /** The kind of values a column of type {@code t} holds (arrays: their elements), or "" when unsupported. */
  public static String kindOf(DataType t) {
    if (t instanceof ArrayType) {
      t = ((ArrayType) t).elementType();
    }
    return t instanceof NumericType ? NUMBERS : t instanceof StringType ? STRINGS : t instanceof BooleanType
        ? BOOLEANS : "";
  }

  /**
   * Null when a column of type {@code t} can feed this table (and, with a known {@link #kind()}, holds
   * the same kind of values), else what is wrong: "expected ..., found ...".
   */
  public String problem(DataType t) {
    String k = kindOf(t);
    if (k.isEmpty()) {
      return "expected integer ids, strings, booleans or arrays of them, found " + t.simpleString();
    }
    if (!kind.isEmpty() && !kind.equals(k)) {
      return "expected " + kind + " (what the model was trained on), found " + t.simpleString();
    }
    if (k.equals(BOOLEANS) && buckets() < 3) {
      return "expected buckets >= 3 for booleans (false, true and the out-of-vocabulary row), found " + buckets();
    }
    return null;
  }

  public int buckets() { return embedding.buckets(); }
  public int dim() { return embedding.dim(); }
  public Embedding.Combiner combiner() { return embedding.combiner(); }
  /** The table this column feeds. */
  public Embedding embedding() { return embedding; }
  /** The out-of-vocabulary bucket: the table's last row. */
  public int oov() { return embedding.buckets() - 1; }

  /** The bucket of one (non-array) value. {@code where} locates it in an error. */
  public int bucket(Object v, String where) {
    int oov = oov();
    if (v == null) {
      return oov;
    }
    if (v instanceof String) {
      return nonNegativeMod(murmur3(((String) v).getBytes(StandardCharsets.UTF_8), SEED), oov);
    }
    if (v instanceof Boolean) {
      return (Boolean) v ? 1 : 0;
    }
    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      long id = ((Number) v).longValue();
      return id < 0 || id >= oov ? oov : (int) id;
    }
    if (v instanceof Number) {
      double d = ((Number) v).doubleValue();
      if (d != Math.rint(d) || Double.isInfinite(d)) {
        throw new InvalidInputException("categorical column '" + column + "': expected integer ids or strings,"
            + " found " + v + where);
      }
      return d < 0 || d >= oov ? oov : (int) d;
    }
    throw new InvalidInputException("categorical column '" + column + "': expected integer ids, strings or arrays"
        + " of them, found " + v.getClass().getName() + where);
  }

  /**
   * Appends the bucket ids of one cell (a value, or an array of values as a bag) to {@code out};
   * returns how many.
   */
  public int append(Object cell, IntList out, String where) {
    if (cell instanceof Seq) {
      Seq<?> s = (Seq<?>) cell;
      var it = s.iterator();
      int n = 0;
      while (it.hasNext()) {
        out.add(bucket(it.next(), where));
        n++;
      }
      return n;
    }
    if (cell instanceof List) {
      List<?> l = (List<?>) cell;
      for (Object o : l) out.add(bucket(o, where));
      return l.size();
    }
    if (cell != null && cell.getClass().isArray()) {
      throw new InvalidInputException("categorical column '" + column + "': expected a value or a Spark array,"
          + " found a Java array" + where);
    }
    out.add(bucket(cell, where));
    return 1;
  }

  /**
   * Appends row {@code row}'s bags of {@code cols} (column c read from the row's field
   * {@code fields[c]}) to {@code ids}, and their end pointers to {@code ptr}.
   */
  public static void appendRow(Row row, int[] fields, List<CategoricalColumn> cols, IntList ptr, IntList ids,
      String where) {
    for (int c = 0; c < cols.size(); c++) {
      cols.get(c).append(row.get(fields[c]), ids, where);
      ptr.add(ids.size());
    }
  }

  /** x mod m in 0..m-1 (Spark's Utils.nonNegativeMod). */
  static int nonNegativeMod(int x, int m) {
    int r = x % m;
    return r < 0 ? r + m : r;
  }

  /** MurmurHash3 x86_32 of {@code data} (the reference algorithm, tail bytes included). */
  static int murmur3(byte[] data, int seed) {
    final int c1 = 0xcc9e2d51;
    final int c2 = 0x1b873593;
    int h = seed;
    int blocks = data.length / 4;
    for (int i = 0; i < blocks; i++) {
      int at = 4 * i;
      int k = (data[at] & 0xff) | (data[at + 1] & 0xff) << 8 | (data[at + 2] & 0xff) << 16
          | (data[at + 3] & 0xff) << 24;
      k *= c1;
      k = Integer.rotateLeft(k, 15);
      k *= c2;
      h ^= k;
      h = Integer.rotateLeft(h, 13);
      h = h * 5 + 0xe6546b64;
    }
    int tail = 4 * blocks;
    int k = 0;
    switch (data.length & 3) {
      case 3:
        k ^= (data[tail + 2] & 0xff) << 16;
        // fall through
      case 2:
        k ^= (data[tail + 1] & 0xff) << 8;
        // fall through
      case 1:
        k ^= data[tail] & 0xff;
        k *= c1;
        k = Integer.rotateLeft(k, 15);
        k *= c2;
        h ^= k;
        break;
      default:
        break;
    }
    h ^= data.length;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }

  /** {@code column:dim:buckets}, with {@code :sum} when bags are summed. */
  @Override
  public String toString() {
    return column + ":" + dim() + ":" + buckets() + (combiner() == Embedding.Combiner.MEAN ? "" : ":" + combiner());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CategoricalColumn && ((CategoricalColumn) o).column.equals(column)
        && ((CategoricalColumn) o).embedding.equals(embedding) && ((CategoricalColumn) o).kind.equals(kind);
  }

  @Override
  public int hashCode() {
    return column.hashCode() * 31 + embedding.hashCode();
  }
}
