package io.sparktrain.ml;

import io.sparktrain.data.CategoricalColumn;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Schema checks shared by the estimators and models; messages name the owner, param and column. */
final class Schemas {
  private Schemas() {
  }

  static StructField field(StructType schema, String col, String who, String param) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(col)) {
        return f;
      }
    }
    throw new IllegalArgumentException(who + " " + param + " '" + col + "': column not found; the input has"
        + " columns " + Arrays.toString(schema.fieldNames()));
  }

  static boolean isVectorOrNumericArray(DataType t) {
    return t instanceof VectorUDT || (t instanceof ArrayType && ((ArrayType) t).elementType() instanceof NumericType);
  }

  /**
   * Checks that every column of {@code cols} is in {@code schema} with a type (and, when known, the
   * kind of values) it can feed its table; {@code param} names them in the error.
   */
  static void checkCategorical(StructType schema, List<CategoricalColumn> cols, String who, String param) {
    for (CategoricalColumn c : cols) {
      String problem = schema.getFieldIndex(c.column()).isEmpty() ? "expected a column of that name, found none"
          + " among " + Arrays.toString(schema.fieldNames()) : c.problem(schema.apply(c.column()).dataType());
      if (problem != null) {
        throw new IllegalArgumentException(who + " " + param + " '" + c.column() + "': " + problem);
      }
    }
  }

  static void checkFeatures(StructType schema, String col, String who) {
    DataType t = field(schema, col, who, "featuresCol").dataType();
    if (!isVectorOrNumericArray(t)) {
      throw new IllegalArgumentException(who + " featuresCol '" + col + "': expected a Vector or"
          + " array<float|double>, found " + t.simpleString());
    }
  }

  static void checkNumeric(StructType schema, String col, String who, String param, String what) {
    DataType t = field(schema, col, who, param).dataType();
    if (!(t instanceof NumericType)) {
      throw new IllegalArgumentException(who + " " + param + " '" + col + "': expected " + what + ", found "
          + t.simpleString());
    }
  }

  /** Appends an output column; fails when it already exists. Empty names are skipped. */
  static StructType addOutput(StructType schema, String col, String param, DataType type, String who) {
    if (col.isEmpty()) {
      return schema;
    }
    for (String n : schema.fieldNames()) {
      if (n.equals(col)) {
        throw new IllegalArgumentException(who + " " + param + " '" + col + "': output column already exists"
            + " in the input; expected a new column name, found existing column '" + col + "' (set " + param
            + " to another name, or to \"\" to skip it)");
      }
    }
    return schema.add(col, type, false);
  }
}
