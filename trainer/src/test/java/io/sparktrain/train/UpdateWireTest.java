package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.linalg.RowSlice;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/**
 * An {@link Update} through Spark's own serializers (Java, and Kryo as conf/spark-defaults.conf
 * sets it): the dense vector comes back whole, and a row-sparse one comes back equal while taking
 * about its rows' bytes on the wire.
 */
class UpdateWireTest {
  private static final int ROWS = 1000;
  private static final int WIDTH = 8;
  private static final int REST = 50;

  private static Update rowSparse() {
    float[] v = new float[ROWS * WIDTH + REST];
    int[] rows = {3, 17, 400, 999};
    for (int r : rows) {
      for (int j = 0; j < WIDTH; j++) v[r * WIDTH + j] = r + j / 10f;
    }
    for (int i = ROWS * WIDTH; i < v.length; i++) v[i] = -i;
    return new Update(v, 2.5, 1.25, 7, 3).withRows(new RowSlice(0, ROWS, WIDTH, rows));
  }

  private static Update roundTrip(Serializer s, Update u, long[] bytes) {
    SerializerInstance in = s.newInstance();
    ByteBuffer b = in.serialize(u, ClassTag$.MODULE$.apply(Update.class));
    bytes[0] = b.remaining();
    return in.deserialize(b, ClassTag$.MODULE$.apply(Update.class));
  }

  @Test
  void bothSparkSerializersKeepTheVectorAndSendOnlyTheRows() {
    SparkConf conf = new SparkConf();
    for (Serializer s : List.of(new JavaSerializer(conf), new KryoSerializer(conf))) {
      String name = s.getClass().getSimpleName();
      Update sparse = rowSparse();
      long[] sparseBytes = {0};
      Update back = roundTrip(s, sparse, sparseBytes);
      assertArrayEquals(sparse.vector(), back.vector(), name);
      assertArrayEquals(sparse.touched().rows(), back.touched().rows(), name);
      assertEquals(2.5, back.weight(), 0.0, name);
      assertEquals(1.25, back.lossSum(), 0.0, name);
      assertEquals(7, back.rows(), name);
      assertEquals(3, back.steps(), name);
      assertEquals(sparse.uploadBytes(), back.uploadBytes(), name);
      // 4 rows of 8 plus 50 dense floats plus the 4 ids: well under the 8,050 floats of the whole.
      assertEquals(4L * (4 * (WIDTH + 1) + REST), sparse.uploadBytes());
      assertTrue(sparseBytes[0] < 2_000, name + ": " + sparseBytes[0] + " bytes on the wire");

      Update dense = new Update(sparse.vector().clone(), 1, 0, 1, 1);
      long[] denseBytes = {0};
      Update denseBack = roundTrip(s, dense, denseBytes);
      assertArrayEquals(dense.vector(), denseBack.vector(), name);
      assertNull(denseBack.touched(), name);
      assertTrue(denseBytes[0] > 4L * dense.vector().length, name + ": dense is whole");
    }
  }

  @Test
  void mergingKeepsTheUnionOrDropsToDense() {
    Update a = rowSparse();
    float[] v = new float[ROWS * WIDTH + REST];
    v[5 * WIDTH] = 1f;
    Update b = new Update(v, 1, 0, 1, 1).withRows(new RowSlice(0, ROWS, WIDTH, new int[] {5, 17}));
    float[] expected = a.vector().clone();
    for (int i = 0; i < v.length; i++) expected[i] += v[i];
    Update m = new Update().merge(a).merge(b);
    assertArrayEquals(new int[] {3, 5, 17, 400, 999}, m.touched().rows());
    assertArrayEquals(expected, m.vector());
    assertEquals(a.uploadBytes() + b.uploadBytes(), m.uploadBytes());
    Update d = new Update().merge(rowSparse()).merge(new Update(v.clone(), 1, 0, 1, 1));
    assertNull(d.touched(), "a dense side makes the sum dense");
    assertArrayEquals(expected, d.vector());
  }
}
