package io.sparktrain.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The ring all-reduce over real loopback sockets, one thread per rank. */
class RingAllReduceTest {
  private static final long TOKEN = 0x5eed;

  /** Runs {@code work} on {@code n} ranks that met through a real {@link Rendezvous}; returns each rank's value. */
  static <T> List<T> onRing(int n, long timeoutMs, RankWork<T> work) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try (Rendezvous rv = new Rendezvous("127.0.0.1", TOKEN)) {
      Rendezvous.Span span = rv.open(7, n);
      List<Future<T>> fs = new ArrayList<>();
      for (int k = 0; k < n; k++) {
        int rank = k;
        fs.add(pool.submit(() -> {
          try (ServerSocketChannel l = ServerSocketChannel.open()) {
            l.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (Rendezvous.Client c = new Rendezvous.Client(rv.host(), rv.port(), TOKEN, 7, 0, rank, n,
                     (InetSocketAddress) l.getLocalAddress(), 10_000);
                 RingAllReduce ring = RingAllReduce.connect(rank, n, 7, l, c.peers().get((rank + 1) % n), timeoutMs,
                     () -> false)) {
              return work.run(rank, ring);
            }
          }
        }));
      }
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) out.add(f.get(60, TimeUnit.SECONDS));
      span.close();
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  interface RankWork<T> {
    T run(int rank, RingAllReduce ring) throws Exception;
  }

  static float[] vector(int rank, int len, long seed) {
    Random r = new Random(seed * 1000 + rank);
    float[] v = new float[len];
    for (int i = 0; i < len; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  @Test
  @Timeout(120)
  void everyRankGetsTheSameSumAndRunsRepeatBitForBit() throws Exception {
    for (int n : new int[] {1, 2, 3, 5}) {
      for (int len : new int[] {1, 3, 1000, 100_003}) {
        List<float[][]> first = onRing(n, 10_000, (rank, ring) -> {
          float[] a = vector(rank, len, len);
          float[] extra = {rank + 1, 0.5f};
          ring.allReduce(a, extra);
          return new float[][] {a, extra};
        });
        // Independent reference: the sum in double, in rank order.
        double[] ref = new double[len];
        for (int k = 0; k < n; k++) {
          float[] v = vector(k, len, len);
          for (int i = 0; i < len; i++) ref[i] += v[i];
        }
        for (int k = 0; k < n; k++) {
          assertArrayEquals(first.get(0)[0], first.get(k)[0], "rank " + k + " of " + n + " differs from rank 0");
          assertEquals(n * (n + 1) / 2.0, first.get(k)[1][0], 0, "extra[0]");
          assertEquals(0.5 * n, first.get(k)[1][1], 0, "extra[1]");
        }
        for (int i = 0; i < len; i++) {
          assertEquals(ref[i], first.get(0)[0][i], 1e-5 * Math.max(1, Math.abs(ref[i])), "element " + i);
        }
        List<float[][]> again = onRing(n, 10_000, (rank, ring) -> {
          float[] a = vector(rank, len, len);
          ring.allReduce(a, new float[] {rank + 1, 0.5f});
          return new float[][] {a};
        });
        assertArrayEquals(first.get(0)[0], again.get(1 % n)[0], "n=" + n + " len=" + len + ": run to run");
      }
    }
  }

  @Test
  @Timeout(120)
  void aRangeIsReducedAndTheRestLeftAlone() throws Exception {
    int n = 3;
    int len = 10_001;
    List<float[]> out = onRing(n, 10_000, (rank, ring) -> {
      float[] a = vector(rank, len, 3);
      ring.allReduce(a, 100, 9_000, new float[] {rank});
      return a;
    });
    for (int k = 0; k < n; k++) {
      float[] own = vector(k, len, 3);
      for (int i = 0; i < len; i++) {
        if (i < 100 || i >= 9_000) {
          assertEquals(own[i], out.get(k)[i], 0.0, "rank " + k + " element " + i + " is outside the range");
        } else {
          double sum = 0;
          for (int q = 0; q < n; q++) sum += vector(q, len, 3)[i];
          assertEquals(sum, out.get(k)[i], 1e-5 * Math.max(1, Math.abs(sum)), "rank " + k + " element " + i);
        }
      }
    }
  }

  @Test
  @Timeout(120)
  void allGatherHandsEveryRankEveryMessage() throws Exception {
    for (int n : new int[] {1, 2, 3, 4}) {
      List<List<String>> out = onRing(n, 10_000, (rank, ring) -> {
        // Lengths differ by rank (rank 1's is empty); twice, so buffers are reused safely.
        List<String> got = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
          byte[] msg = ("r" + round + "-" + "x".repeat(rank == 1 ? 0 : rank * 50_000)).getBytes(
              StandardCharsets.US_ASCII);
          ByteBuffer[] all = ring.allGather(ByteBuffer.wrap(rank == 1 ? new byte[0] : msg));
          for (ByteBuffer b : all) {
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            got.add(new String(bytes, StandardCharsets.US_ASCII));
          }
        }
        return got;
      });
      for (int k = 0; k < n; k++) {
        List<String> got = out.get(k);
        assertEquals(2 * n, got.size());
        for (int round = 0; round < 2; round++) {
          for (int q = 0; q < n; q++) {
            String want = q == 1 ? "" : "r" + round + "-" + "x".repeat(q * 50_000);
            assertEquals(want, got.get(round * n + q), "n=" + n + " rank " + k + " round " + round + " message of "
                + q);
          }
        }
      }
    }
  }

  @Test
  @Timeout(60)
  void aPeerThatStopsAnsweringFailsTheOthersWithinTheTimeout() throws Exception {
    long t0 = System.nanoTime();
    List<String> outcome = onRing(3, 1_000, (rank, ring) -> {
      float[] a = vector(rank, 10_000, 1);
      ring.allReduce(a, new float[2]); // one good round
      if (rank == 2) {
        Thread.sleep(4_000); // stops answering (but keeps its sockets open)
        return "slept";
      }
      try {
        ring.allReduce(a, new float[2]);
        return "finished";
      } catch (CollectiveException e) {
        return e.getMessage();
      }
    });
    double secs = (System.nanoTime() - t0) / 1e9;
    assertTrue(outcome.get(0).contains("no progress") || outcome.get(0).contains("closed"), outcome.get(0));
    assertTrue(outcome.get(1).contains("no progress") || outcome.get(1).contains("closed"), outcome.get(1));
    assertTrue(secs < 30, "took " + secs + " s");
  }

  @Test
  @Timeout(60)
  void aPeerThatClosesFailsItsSuccessorAtOnce() throws Exception {
    List<String> outcome = onRing(2, 30_000, (rank, ring) -> {
      float[] a = new float[5000];
      if (rank == 0) {
        ring.close();
        return "closed";
      }
      CollectiveException e = assertThrows(CollectiveException.class, () -> ring.allReduce(a, new float[2]));
      return e.getMessage();
    });
    assertTrue(outcome.get(1).contains("closed its connection"), outcome.get(1));
  }

  @Test
  @Timeout(60)
  void aStrangerWithTheWrongTokenIsTurnedAway() throws Exception {
    try (Rendezvous rv = new Rendezvous("127.0.0.1", TOKEN)) {
      rv.open(1, 1);
      CollectiveException e = assertThrows(CollectiveException.class, () -> new Rendezvous.Client(rv.host(),
          rv.port(), TOKEN + 1, 1, 0, 0, 1, new InetSocketAddress("127.0.0.1", 1), 5_000));
      assertTrue(e.getMessage().contains("refused"), e.getMessage());
    }
  }
}
