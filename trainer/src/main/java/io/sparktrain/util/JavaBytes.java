package io.sparktrain.util;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;

/**
 * Java serialization to and from byte arrays (float arrays go out in bulk). Used where an object's
 * own {@code writeObject} form must travel whatever Spark's serializer is: the collective engine's
 * span payloads, and the Kryo form of row-sparse updates.
 */
public final class JavaBytes {
  private JavaBytes() {
  }

  public static byte[] toBytes(Serializable o) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** The object {@link #toBytes} wrote; {@code what} names it in the error. */
  public static <T> T fromBytes(byte[] b, Class<T> type, String what) {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
      return type.cast(in.readObject());
    } catch (IOException | ClassNotFoundException e) {
      throw new IllegalStateException(what + " does not read: " + e, e);
    }
  }
}
