package io.sparktrain.collective;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;

/**
 * A bandwidth-optimal all-reduce (sum) of a float vector among N ranks on a ring: a
 * reduce-scatter, then an all-gather, each N-1 steps, every rank sending one segment of about
 * 1/N of the vector to its successor and receiving one from its predecessor per step. Each rank
 * sends and receives 2(N-1)/N of the vector in total, whatever N is (Patarasuk and Yuan 2009;
 * the scheme of Baidu's ring all-reduce, Horovod and NCCL).
 *
 * <p><b>Determinism.</b> Segment j is summed in a fixed ring order starting at rank j+1, by one
 * rank, and then copied bit for bit to the others: every rank ends with identical bits, and the
 * same N gives the same bits run after run, whatever the timing.
 *
 * <p><b>Transport.</b> Two plain TCP connections per rank (to the successor, from the
 * predecessor), non-blocking NIO with one selector, little-endian direct buffers. Sending and
 * receiving overlap (a ring step with blocking writes could deadlock once both socket buffers
 * fill), and incoming floats are added as they arrive, so the reduction overlaps the transfer.
 * No allocation per call. See docs/ARCHITECTURE.md for why NIO rather than Netty.
 *
 * <p><b>Failure.</b> A peer that closes its connection fails the call at once; one that stops
 * answering fails it after {@code timeoutMillis} without progress; {@code cancelled} (Spark's
 * task-killed flag) is polled while waiting. Nothing here hangs. Not thread-safe: one per task.
 */
public final class RingAllReduce implements Closeable {
  /** Busy-poll rounds before parking in the selector: a step's peer is usually microseconds away. */
  private static final int SPINS = 2_000;

  private final int rank;
  private final int size;
  private final SocketChannel toNext;
  private final SocketChannel fromPrev;
  private final Selector selector;
  private final SelectionKey sendKey;
  private final SelectionKey recvKey;
  private final long timeoutMillis;
  private final BooleanSupplier cancelled;
  /** The reduced vector of the current call: a[base, base + span) then extra. */
  private int base;
  private int span;
  private ByteBuffer sendBytes;
  private ByteBuffer recvBytes;
  private FloatBuffer sendFloats;
  private FloatBuffer recvFloats;
  private long bytesSent;
  private long waitNanos;

  private RingAllReduce(int rank, int size, SocketChannel toNext, SocketChannel fromPrev, long timeoutMillis,
      BooleanSupplier cancelled) throws IOException {
    this.rank = rank;
    this.size = size;
    this.toNext = toNext;
    this.fromPrev = fromPrev;
    this.timeoutMillis = timeoutMillis;
    this.cancelled = cancelled;
    if (size > 1) {
      selector = Selector.open();
      toNext.configureBlocking(false);
      fromPrev.configureBlocking(false);
      sendKey = toNext.register(selector, 0);
      recvKey = fromPrev.register(selector, 0);
    } else {
      selector = null;
      sendKey = null;
      recvKey = null;
    }
  }

  /** A ring of one: {@link #allReduce} leaves the vector as it is. */
  public static RingAllReduce single() {
    try {
      return new RingAllReduce(0, 1, null, null, 0, () -> false);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Joins the ring as {@code rank} of {@code size}: connects to {@code next} (the successor's
   * listener) and accepts the predecessor's connection on {@code listener}; both sides send a
   * handshake (ring id, rank) so that a stale task of an earlier attempt cannot join.
   */
  public static RingAllReduce connect(int rank, int size, long ringId, ServerSocketChannel listener,
      InetSocketAddress next, long timeoutMillis, BooleanSupplier cancelled) throws IOException {
    if (size == 1) {
      return single();
    }
    long deadline = System.currentTimeMillis() + timeoutMillis;
    SocketChannel out = null;
    SocketChannel in = null;
    try {
      out = connectWithRetry(next, deadline, cancelled);
      ByteBuffer hello = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      hello.putLong(ringId).putInt(rank).flip();
      while (hello.hasRemaining()) out.write(hello);
      in = acceptFrom(listener, (rank - 1 + size) % size, ringId, deadline, cancelled);
      return new RingAllReduce(rank, size, out, in, timeoutMillis, cancelled);
    } catch (IOException | RuntimeException e) {
      closeQuietly(out);
      closeQuietly(in);
      throw e;
    }
  }

  private static SocketChannel connectWithRetry(InetSocketAddress addr, long deadline, BooleanSupplier cancelled)
      throws IOException {
    IOException last = null;
    while (System.currentTimeMillis() < deadline && !cancelled.getAsBoolean()) {
      SocketChannel ch = SocketChannel.open();
      try {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.socket().connect(addr, (int) Math.max(1, Math.min(5_000, deadline - System.currentTimeMillis())));
        return ch;
      } catch (IOException e) {
        closeQuietly(ch);
        last = e;
        sleep(20);
      }
    }
    throw new CollectiveException("cannot connect to the next rank at " + addr + (last == null ? ""
        : ": " + last.getMessage()), last);
  }

  private static SocketChannel acceptFrom(ServerSocketChannel listener, int expectedRank, long ringId, long deadline,
      BooleanSupplier cancelled) throws IOException {
    listener.configureBlocking(false);
    while (System.currentTimeMillis() < deadline && !cancelled.getAsBoolean()) {
      SocketChannel ch = listener.accept();
      if (ch == null) {
        sleep(2);
        continue;
      }
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.configureBlocking(false);
      ByteBuffer hello = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      long helloDeadline = Math.min(deadline, System.currentTimeMillis() + 5_000);
      while (hello.hasRemaining() && System.currentTimeMillis() < helloDeadline) {
        if (ch.read(hello) < 0) {
          break;
        }
        if (hello.hasRemaining()) {
          sleep(1);
        }
      }
      if (!hello.hasRemaining()) {
        hello.flip();
        if (hello.getLong() == ringId && hello.getInt() == expectedRank) {
          return ch;
        }
      }
      closeQuietly(ch); // a stale attempt or a stranger
    }
    throw new CollectiveException("the previous rank " + expectedRank + " did not connect in time", null);
  }

  public int rank() {
    return rank;
  }

  public int size() {
    return size;
  }

  /** Bytes this rank has sent so far. */
  public long bytesSent() {
    return bytesSent;
  }

  /** Nanoseconds this rank spent without progress, waiting for a peer (spinning or parked). */
  public long waitNanos() {
    return waitNanos;
  }

  /**
   * Replaces, on every rank, the vector {@code a[0, a.length)} followed by {@code extra[0,
   * extra.length)} with its sum over the ranks. Every rank must pass vectors of the same lengths.
   */
  public void allReduce(float[] a, float[] extra) throws IOException {
    allReduce(a, 0, a.length, extra);
  }

  /**
   * {@link #allReduce(float[], float[])} of the vector {@code a[from, to)} followed by {@code extra}:
   * the rest of {@code a} is left as it is.
   */
  public void allReduce(float[] a, int from, int to, float[] extra) throws IOException {
    if (size == 1) {
      return;
    }
    base = from;
    span = to - from;
    int total = span + extra.length;
    int maxSeg = (total + size - 1) / size;
    ensureBuffers(maxSeg);
    // Reduce-scatter: after step s, rank k holds the sum over s+2 ranks of segment (k-s-1).
    for (int s = 0; s < size - 1; s++) {
      int sendSeg = Math.floorMod(rank - s, size);
      int recvSeg = Math.floorMod(rank - s - 1, size);
      exchange(a, extra, total, sendSeg, recvSeg, true);
    }
    // All-gather: rank k owns segment k+1 whole; pass the owned segments around the ring.
    for (int s = 0; s < size - 1; s++) {
      int sendSeg = Math.floorMod(rank + 1 - s, size);
      int recvSeg = Math.floorMod(rank - s, size);
      exchange(a, extra, total, sendSeg, recvSeg, false);
    }
  }

  private void ensureBuffers(int floats) {
    if (sendBytes == null || sendBytes.capacity() < 4 * floats) {
      sendBytes = ByteBuffer.allocateDirect(4 * floats).order(ByteOrder.LITTLE_ENDIAN);
      recvBytes = ByteBuffer.allocateDirect(4 * floats).order(ByteOrder.LITTLE_ENDIAN);
      sendFloats = sendBytes.asFloatBuffer();
      recvFloats = recvBytes.asFloatBuffer();
    }
  }

  private static int segStart(int total, int size, int seg) {
    return (int) ((long) total * seg / size);
  }

  /** Sends segment {@code sendSeg} to the next rank while receiving {@code recvSeg}, added or copied. */
  private void exchange(float[] a, float[] extra, int total, int sendSeg, int recvSeg, boolean add)
      throws IOException {
    int sLo = segStart(total, size, sendSeg);
    int sHi = segStart(total, size, sendSeg + 1);
    int rLo = segStart(total, size, recvSeg);
    int rHi = segStart(total, size, recvSeg + 1);
    // Pack the outgoing segment.
    sendFloats.clear();
    putRange(a, extra, sLo, sHi);
    sendBytes.clear().limit(4 * (sHi - sLo));
    recvBytes.clear().limit(4 * (rHi - rLo));
    int consumed = 0; // floats of the incoming segment already applied
    long lastProgress = System.nanoTime();
    long idleSince = 0; // when the current stretch without progress began (0 = progressing)
    int idle = 0;
    try {
      while (sendBytes.hasRemaining() || recvBytes.hasRemaining()) {
        int progress = 0;
        if (sendBytes.hasRemaining()) {
          int w = toNext.write(sendBytes);
          progress += w;
          bytesSent += w;
        }
        if (recvBytes.hasRemaining()) {
          int r = fromPrev.read(recvBytes);
          if (r < 0) {
            throw new CollectiveException("rank " + rank + ": the previous rank closed its connection", null);
          }
          progress += r;
          int ready = recvBytes.position() / 4;
          if (ready > consumed) {
            applyRange(a, extra, rLo + consumed, rLo + ready, consumed, add);
            consumed = ready;
          }
        }
        if (progress > 0) {
          lastProgress = System.nanoTime();
          if (idleSince != 0) {
            waitNanos += lastProgress - idleSince;
            idleSince = 0;
          }
          idle = 0;
          continue;
        }
        if (idleSince == 0) {
          idleSince = System.nanoTime();
        }
        if (++idle < SPINS) {
          Thread.onSpinWait();
          continue;
        }
        park(lastProgress, sendBytes.hasRemaining(), recvBytes.hasRemaining());
      }
    } finally {
      if (idleSince != 0) {
        waitNanos += System.nanoTime() - idleSince;
      }
    }
  }

  /**
   * Parks in the selector until a socket is ready (at most 100 ms); fails after {@code timeoutMillis}
   * without progress since {@code lastProgress}, or when the task was cancelled.
   */
  private void park(long lastProgress, boolean wantSend, boolean wantRecv) throws IOException {
    long waited = (System.nanoTime() - lastProgress) / 1_000_000;
    if (waited > timeoutMillis) {
      throw new CollectiveException("rank " + rank + " of " + size + ": no progress from its ring peers for "
          + waited + " ms (training.collective_timeout_s); a peer stopped answering", null);
    }
    if (cancelled.getAsBoolean()) {
      throw new CollectiveException("rank " + rank + ": cancelled (the task was killed)", null);
    }
    sendKey.interestOps(wantSend ? SelectionKey.OP_WRITE : 0);
    recvKey.interestOps(wantRecv ? SelectionKey.OP_READ : 0);
    selector.select(Math.max(1, Math.min(100, timeoutMillis - waited)));
    selector.selectedKeys().clear();
  }

  /**
   * An all-gather of one variable-length message per rank around the ring (N-1 steps, each rank
   * forwarding what it received): returns every rank's message, indexed by rank, {@code mine} at
   * this rank's place. Each rank sends and receives the other ranks' messages once. Messages are
   * read from position 0 to their limit; every returned buffer is little-endian.
   */
  public ByteBuffer[] allGather(ByteBuffer mine) throws IOException {
    ByteBuffer[] all = new ByteBuffer[size];
    all[rank] = mine.duplicate().rewind().order(ByteOrder.LITTLE_ENDIAN); // duplicate() drops the order
    for (int s = 0; s < size - 1; s++) {
      int sendFrom = Math.floorMod(rank - s, size);
      int recvFrom = Math.floorMod(rank - s - 1, size);
      all[recvFrom] = exchangeMessage(all[sendFrom].duplicate().rewind());
    }
    return all;
  }

  /** Sends {@code out} (length-prefixed) to the next rank while receiving the previous rank's message. */
  private ByteBuffer exchangeMessage(ByteBuffer out) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, out.remaining());
    ByteBuffer inHead = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer in = null;
    ByteBuffer[] outs = {head, out};
    long lastProgress = System.nanoTime();
    long idleSince = 0;
    int idle = 0;
    try {
      while (out.hasRemaining() || head.hasRemaining() || in == null || in.hasRemaining()) {
        long progress = 0;
        if (out.hasRemaining() || head.hasRemaining()) {
          long w = toNext.write(outs);
          progress += w;
          bytesSent += w;
        }
        if (in == null || in.hasRemaining()) {
          int r = fromPrev.read(in == null ? inHead : in);
          if (r < 0) {
            throw new CollectiveException("rank " + rank + ": the previous rank closed its connection", null);
          }
          progress += r;
          if (in == null && !inHead.hasRemaining()) {
            in = ByteBuffer.allocate(inHead.getInt(0)).order(ByteOrder.LITTLE_ENDIAN);
          }
        }
        if (progress > 0) {
          lastProgress = System.nanoTime();
          if (idleSince != 0) {
            waitNanos += lastProgress - idleSince;
            idleSince = 0;
          }
          idle = 0;
          continue;
        }
        if (idleSince == 0) {
          idleSince = System.nanoTime();
        }
        if (++idle < SPINS) {
          Thread.onSpinWait();
          continue;
        }
        park(lastProgress, out.hasRemaining() || head.hasRemaining(), in == null || in.hasRemaining());
      }
    } finally {
      if (idleSince != 0) {
        waitNanos += System.nanoTime() - idleSince;
      }
    }
    return in.flip();
  }

  private void putRange(float[] a, float[] extra, int lo, int hi) {
    int n = span;
    if (lo < n) {
      sendFloats.put(a, base + lo, Math.min(hi, n) - lo);
    }
    if (hi > n) {
      int from = Math.max(lo, n);
      sendFloats.put(extra, from - n, hi - from);
    }
  }

  /** Applies incoming floats for logical indices [lo, hi); {@code off} is lo's place in the buffer. */
  private void applyRange(float[] a, float[] extra, int lo, int hi, int off, boolean add) {
    int n = span;
    FloatBuffer in = recvFloats;
    int aHi = Math.min(hi, n);
    int b = base;
    if (add) {
      for (int i = lo, j = off; i < aHi; i++, j++) a[b + i] += in.get(j);
      for (int i = Math.max(lo, n), j = off + (i - lo); i < hi; i++, j++) extra[i - n] += in.get(j);
    } else {
      if (lo < aHi) {
        in.get(off, a, b + lo, aHi - lo);
      }
      for (int i = Math.max(lo, n), j = off + (i - lo); i < hi; i++, j++) extra[i - n] = in.get(j);
    }
  }

  private static void sleep(long ms) throws CollectiveException {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollectiveException("interrupted", e);
    }
  }

  static void closeQuietly(Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  @Override
  public void close() {
    closeQuietly(selector);
    closeQuietly(toNext);
    closeQuietly(fromPrev);
  }
}
