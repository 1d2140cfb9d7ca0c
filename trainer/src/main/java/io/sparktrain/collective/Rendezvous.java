package io.sparktrain.collective;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's rendezvous service: the tasks of a span find each other here, once per span, and
 * rank 0 streams its per-step progress back over the same connection. It replaces Spark's
 * {@code BarrierTaskContext.allGather}, which costs about a second per call in Spark 4.2 (its
 * waiting side polls once a second); here a rendezvous costs one TCP round trip per task.
 * The same role as XGBoost4J-Spark's tracker and Horovod's driver service.
 *
 * <p>Protocol (DataOutputStream, big-endian): a task sends {@code MAGIC, token, span, attempt,
 * rank, size, host, port}; once all {@code size} ranks of that (span, attempt) have arrived,
 * each gets {@code size} pairs {@code (host, port)} in rank order. Then rank 0 sends
 * {@link Progress} records ({@code 1, round, loss, rows, seconds}), at most one payload
 * ({@code 2, length, bytes}: its span result, which is too large for a cheap Spark task result)
 * and {@code 0} at the end; any rank may ask for the span's start ({@code 3}, answered by
 * {@code length, bytes}) when it has no replica cached. A
 * connection with a wrong token or an unknown span is closed. A newer attempt of a span closes
 * the older attempt's connections, so a stale task fails at once rather than waiting.
 */
public final class Rendezvous implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);
  static final int MAGIC = 0x53545231; // "STR1"

  /** One step's progress, from rank 0. */
  public record Progress(long round, double loss, long rows, double seconds) {
    /** Queued when rank 0 says its steps are over: the driver need not poll any longer. */
    public static final Progress END = new Progress(-1, Double.NaN, 0, 0);
  }

  private final ServerSocket server;
  private final long token;
  private final ExecutorService pool;
  private final Map<Long, Span> spans = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** Listens on {@code host} (the driver's address the executors reach), port chosen by the kernel. */
  public Rendezvous(String host, long token) throws IOException {
    this.token = token;
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getByName(host), 0), 256);
    pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "sparktrain-rendezvous");
      t.setDaemon(true);
      return t;
    });
    pool.execute(this::acceptLoop);
  }

  public String host() {
    return server.getInetAddress().getHostAddress();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Expects the tasks of span {@code id}; progress records go to the returned span's queue. */
  public Span open(long id, int size) {
    Span s = new Span(id, size);
    spans.put(id, s);
    return s;
  }

  /** One span's registrations and progress. */
  public final class Span implements Closeable {
    private final long id;
    private final int size;
    private final BlockingQueue<Progress> progress = new LinkedBlockingQueue<>();
    private int attempt = -1;
    private final List<Registration> registered = new ArrayList<>();
    private volatile long registeredNanos;
    private volatile long endNanos;
    private volatile byte[] payload;
    private volatile int payloadAttempt = -1;
    private Supplier<byte[]> start;
    private byte[] startBytes;

    Span(long id, int size) {
      this.id = id;
      this.size = size;
    }

    public BlockingQueue<Progress> progress() {
      return progress;
    }

    /**
     * Serves the span's start (made at most once, on the first request) to tasks that ask for it
     * with {@link Client#fetchStart}: those that do not have it cached from the previous span.
     */
    public void serveStart(Supplier<byte[]> supplier) {
      synchronized (this) {
        start = supplier;
      }
    }

    synchronized byte[] startBytes() {
      if (startBytes == null && start != null) {
        startBytes = start.get();
      }
      return startBytes;
    }

    /**
     * The bytes rank 0 sent with {@link Client#payload} in stage attempt {@code attempt}, or null
     * (none, or one from another attempt). Read it after {@link Progress#END}: the socket keeps the
     * order.
     */
    public byte[] payload(int attempt) {
      return payloadAttempt == attempt ? payload : null;
    }

    /** The driver's {@code System.nanoTime()} when the last rank registered (0 before). */
    public long registeredNanos() {
      return registeredNanos;
    }

    /** The driver's {@code System.nanoTime()} when rank 0 said its steps were over (0 before). */
    public long endNanos() {
      return endNanos;
    }

    /** Registers a task; when the last one arrives, answers them all. Returns false to refuse. */
    synchronized boolean register(Registration r) throws IOException {
      if (r.size != size || r.rank < 0 || r.rank >= size || r.attempt < attempt) {
        return false;
      }
      if (r.attempt > attempt) {
        for (Registration old : registered) RingAllReduce.closeQuietly(old.socket);
        registered.clear();
        attempt = r.attempt;
      }
      for (Registration old : registered) {
        if (old.rank == r.rank) { // a re-launched task of the same attempt replaces the old one
          RingAllReduce.closeQuietly(old.socket);
          registered.remove(old);
          break;
        }
      }
      registered.add(r);
      if (registered.size() == size) {
        registered.sort((a, b) -> Integer.compare(a.rank, b.rank));
        for (Registration x : registered) {
          x.out.writeInt(size);
          for (Registration y : registered) {
            x.out.writeUTF(y.host);
            x.out.writeInt(y.port);
          }
          x.out.flush();
        }
        registeredNanos = System.nanoTime();
      }
      return true;
    }

    @Override
    public synchronized void close() {
      spans.remove(id);
      for (Registration r : registered) RingAllReduce.closeQuietly(r.socket);
      registered.clear();
    }
  }

  private record Registration(Socket socket, DataOutputStream out, int attempt, int rank, int size, String host,
      int port) { }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket s = server.accept();
        pool.execute(() -> serve(s));
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("sparktrain rendezvous: accept failed: {}", e.toString());
        }
      }
    }
  }

  private void serve(Socket s) {
    try {
      s.setTcpNoDelay(true);
      s.setSoTimeout(30_000); // the header must come promptly
      DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
      DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
      if (in.readInt() != MAGIC || in.readLong() != token) {
        s.close();
        return;
      }
      long spanId = in.readLong();
      int attempt = in.readInt();
      int rank = in.readInt();
      int size = in.readInt();
      String host = in.readUTF();
      int port = in.readInt();
      Span span = spans.get(spanId);
      if (span == null || !span.register(new Registration(s, out, attempt, rank, size, host, port))) {
        s.close();
        return;
      }
      s.setSoTimeout(0); // progress may be minutes apart; the span's end closes the socket
      while (true) {
        int type = in.readByte();
        if (type == 0) {
          if (rank == 0) {
            span.endNanos = System.nanoTime();
            span.progress.add(Progress.END); // after every record rank 0 sent: the socket keeps their order
          }
          return;
        }
        if (type == 3) {
          byte[] b = span.startBytes();
          out.writeInt(b == null ? -1 : b.length);
          if (b != null) {
            out.write(b);
          }
          out.flush();
          continue;
        }
        if (type == 2) {
          byte[] b = new byte[in.readInt()];
          in.readFully(b);
          if (rank == 0) {
            span.payload = b;
            span.payloadAttempt = attempt;
          }
          continue;
        }
        span.progress.add(new Progress(in.readLong(), in.readDouble(), in.readLong(), in.readDouble()));
      }
    } catch (EOFException | SocketTimeoutException e) {
      RingAllReduce.closeQuietly(s);
    } catch (IOException e) {
      if (!closed) {
        LOG.debug("sparktrain rendezvous: connection ended: {}", e.toString());
      }
      RingAllReduce.closeQuietly(s);
    }
  }

  @Override
  public void close() {
    closed = true;
    RingAllReduce.closeQuietly(server);
    for (Span s : spans.values()) s.close();
    pool.shutdownNow();
  }

  /** The task's side: joins a span and, on rank 0, reports progress. */
  public static final class Client implements Closeable {
    private final Socket socket;
    private final DataOutputStream out;
    private final List<InetSocketAddress> peers;
    private final DataInputStream in;
    private final long timeoutMillis;
    private long lastFlush = System.nanoTime();

    /**
     * Registers with the service at {@code host:port} and waits (at most {@code timeoutMillis})
     * for every rank's listener address.
     */
    public Client(String host, int port, long token, long span, int attempt, int rank, int size,
        InetSocketAddress listener, long timeoutMillis) throws IOException {
      this.timeoutMillis = timeoutMillis;
      socket = new Socket();
      try {
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
        out.writeInt(MAGIC);
        out.writeLong(token);
        out.writeLong(span);
        out.writeInt(attempt);
        out.writeInt(rank);
        out.writeInt(size);
        out.writeUTF(listener.getAddress().getHostAddress());
        out.writeInt(listener.getPort());
        out.flush();
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        int n;
        try {
          n = in.readInt();
        } catch (SocketTimeoutException e) {
          throw new CollectiveException("rank " + rank + ": the other " + (size - 1) + " tasks of the span did not"
              + " all reach the rendezvous at " + host + ":" + port + " within " + timeoutMillis + " ms", e);
        } catch (EOFException e) {
          throw new CollectiveException("rank " + rank + ": the rendezvous at " + host + ":" + port
              + " refused or superseded this task (a newer attempt of the span started)", e);
        }
        List<InetSocketAddress> p = new ArrayList<>(n);
        for (int i = 0; i < n; i++) p.add(new InetSocketAddress(in.readUTF(), in.readInt()));
        peers = p;
        socket.setSoTimeout(0);
      } catch (IOException e) {
        RingAllReduce.closeQuietly(socket);
        throw e;
      }
    }

    /** Every rank's listener, in rank order. */
    public List<InetSocketAddress> peers() {
      return peers;
    }

    /** Sends one step's progress; flushed at most every 50 ms (and by {@link #close}). */
    public void progress(long round, double loss, long rows, double seconds) throws IOException {
      out.writeByte(1);
      out.writeLong(round);
      out.writeDouble(loss);
      out.writeLong(rows);
      out.writeDouble(seconds);
      long now = System.nanoTime();
      if (now - lastFlush > 50_000_000L) {
        out.flush();
        lastFlush = now;
      }
    }

    /** Asks the driver for the span's start (parameters and optimizer state), or null if it has none. */
    public byte[] fetchStart() throws IOException {
      out.writeByte(3);
      out.flush();
      socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
      try {
        int n = in.readInt();
        if (n < 0) {
          return null;
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
      } finally {
        socket.setSoTimeout(0);
      }
    }

    /**
     * Sends {@code bytes} to the driver (rank 0's span result: parameters and optimizer state).
     * A Spark task result above {@code spark.task.maxDirectResultSize} (1 MB) goes through the block
     * manager, which cost 30-40 ms per span here; this is one write on an open socket.
     */
    public void payload(byte[] bytes) throws IOException {
      out.writeByte(2);
      out.writeInt(bytes.length);
      out.write(bytes);
      out.flush();
      lastFlush = System.nanoTime();
    }

    @Override
    public void close() {
      try {
        out.writeByte(0);
        out.flush();
      } catch (IOException ignored) {
        // the driver may be gone already
      }
      RingAllReduce.closeQuietly(socket);
    }
  }
}
