package io.sparktrain.util;

import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
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

  /**
   * Writes {@code o}'s Java form, length-prefixed, into a Kryo stream: the {@code KryoSerializable}
   * form of a class whose own {@code writeObject} Kryo would skip. {@link #readKryo} reads it.
   */
  public static void writeKryo(Output out, Serializable o) {
    byte[] b = toBytes(o);
    out.writeInt(b.length);
    out.writeBytes(b);
  }

  /** The object {@link #writeKryo} wrote. */
  public static <T> T readKryo(Input in, Class<T> type, String what) {
    return fromBytes(in.readBytes(in.readInt()), type, what);
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
