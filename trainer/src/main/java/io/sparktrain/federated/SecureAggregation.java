package io.sparktrain.federated;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.XECPublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Pairwise masking for secure aggregation (Bonawitz, Ivanov, Kreuter, Marcedone, McMahan, Patel,
 * Ramage, Segal, Seth 2017, "Practical Secure Aggregation for Privacy-Preserving Machine Learning",
 * CCS 2017, the masking of Sec. 3 / 4 without its secret sharing, so WITHOUT dropout recovery): the
 * server learns the sum of the sampled silos' updates, not the individual updates, provided every
 * sampled silo's masked vector arrives. If one is missing the sum is useless and the round must be
 * redone with a new sample.
 *
 * <p>Protocol for one round r:
 * <ol>
 *   <li>Each silo i derives its X25519 key pair from its own secret and r ({@link #keyPair}); the
 *       private scalar is SHA-256(domain, secret, r), so a retried task recomputes the same keys
 *       and the same masked vector. Silos send {@link #publicKeyBytes} to the server, which
 *       broadcasts the sampled silos' keys.
 *   <li>Each pair (i, j) agrees a shared secret by X25519 (RFC 7748) and hashes it with r into an
 *       AES-256 key; AES-CTR expands it into one 32-bit mask per coordinate.
 *   <li>Silo i quantizes its update to fixed point, round(x * scale), adds the mask of every
 *       j &gt; i and subtracts the mask of every j &lt; i, all modulo 2^32 ({@link #mask}).
 *   <li>The server adds the masked vectors modulo 2^32 in any order or grouping ({@link #add}, e.g.
 *       in a tree aggregation); the masks cancel exactly and {@link #unmaskSum} returns the sum.
 * </ol>
 *
 * <p>Precision and range: each coordinate is rounded to the nearest multiple of 1/scale (error at
 * most 1/(2 scale) per silo, 7.6e-6 at scale 2^16), so the sum of n updates is within
 * n/(2 scale) of the exact sum, before its final rounding to float. The modular sum is exact,
 * but it decodes correctly only if every coordinate of the true fixed-point sum lies in
 * [-2^31, 2^31): with n silos, n * max|x| * scale &lt; 2^31 suffices (max|x| &lt; 32768 / n at
 * scale 2^16). Clipped DP updates (norm &lt;= S) satisfy it for any sensible S.
 *
 * <p>Security notes: masks are AES-CTR keystreams, so a single masked vector is computationally
 * indistinguishable from uniform on Z_{2^32}^d to anyone without a pair's shared secret. The
 * silo secret must stay on the silo. No authentication of the public keys is done here (the
 * semi-honest server model of the paper).
 */
public final class SecureAggregation {
  /** Default fixed-point scale, 2^16. */
  public static final double DEFAULT_SCALE = 65536;

  private static final NamedParameterSpec X25519 = NamedParameterSpec.X25519;
  private static final byte[] KEY_DOMAIN = "sparktrain/secagg/x25519-key/v1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MASK_DOMAIN = "sparktrain/secagg/pair-mask/v1".getBytes(StandardCharsets.US_ASCII);
  private static final int CHUNK_WORDS = 4096;

  private SecureAggregation() {
  }

  /**
   * The X25519 key pair of a silo for {@code round}: private scalar SHA-256(domain, siloSecret,
   * round) (clamped by X25519 itself), public key X25519(scalar, 9).
   */
  public static KeyPair keyPair(byte[] siloSecret, long round) {
    if (siloSecret == null || siloSecret.length < 16) {
      throw new IllegalArgumentException("silo secret: expected at least 16 bytes, found "
          + (siloSecret == null ? "null" : siloSecret.length + " bytes"));
    }
    byte[] scalar = sha256(KEY_DOMAIN, siloSecret, longBytes(round));
    return keyPairFromScalar(scalar);
  }

  /** The key pair of a raw 32-byte X25519 private scalar (RFC 7748 encoding). */
  static KeyPair keyPairFromScalar(byte[] scalar) {
    try {
      KeyFactory kf = KeyFactory.getInstance("XDH");
      PrivateKey priv = kf.generatePrivate(new XECPrivateKeySpec(X25519, scalar.clone()));
      // X25519(k, 9) is the public key: agree with the base point u = 9.
      PublicKey base = kf.generatePublic(new XECPublicKeySpec(X25519, BigInteger.valueOf(9)));
      byte[] u = agree(priv, base);
      return new KeyPair(decodePublicKey(u), priv);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 key derivation failed", e);
    }
  }

  /** The 32-byte RFC 7748 encoding (little-endian u-coordinate) of an X25519 public key. */
  public static byte[] publicKeyBytes(PublicKey key) {
    if (!(key instanceof XECPublicKey)) {
      throw new IllegalArgumentException("public key: expected an X25519 (XEC) key, found " + key.getAlgorithm());
    }
    byte[] be = ((XECPublicKey) key).getU().toByteArray();
    byte[] le = new byte[32];
    for (int i = 0; i < 32 && i < be.length; i++) le[i] = be[be.length - 1 - i];
    return le;
  }

  /** The public key of an RFC 7748 encoding (the top bit of the last byte is ignored, as RFC 7748 says). */
  public static PublicKey decodePublicKey(byte[] encoded) {
    if (encoded == null || encoded.length != 32) {
      throw new IllegalArgumentException("X25519 public key: expected 32 bytes, found "
          + (encoded == null ? "null" : encoded.length));
    }
    byte[] be = new byte[32];
    for (int i = 0; i < 32; i++) be[i] = encoded[31 - i];
    be[0] &= 0x7F;
    try {
      return KeyFactory.getInstance("XDH").generatePublic(new XECPublicKeySpec(X25519, new BigInteger(1, be)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 public key decoding failed", e);
    }
  }

  /**
   * Silo {@code silo}'s masked update for {@code round}: round(update * scale) plus the pair mask
   * of every other silo j in {@code publicKeysOfSampledSilos} (added for j &gt; silo, subtracted
   * for j &lt; silo), modulo 2^32. The map holds the encoded public keys of all sampled silos for
   * this round (its own entry, if present, is skipped). Deterministic in its arguments.
   */
  public static int[] mask(int silo, float[] update, Map<Integer, byte[]> publicKeysOfSampledSilos,
      PrivateKey privateKey, long round, double fixedPointScale) {
    int[] out = quantize(update, fixedPointScale);
    int[] mask = new int[Math.min(CHUNK_WORDS, Math.max(1, out.length))];
    byte[] zeros = new byte[4 * mask.length];
    for (Map.Entry<Integer, byte[]> e : publicKeysOfSampledSilos.entrySet()) {
      int j = e.getKey();
      if (j == silo) {
        continue;
      }
      byte[] shared = agree(privateKey, decodePublicKey(e.getValue()));
      Cipher prg = maskStream(shared, round);
      boolean add = j > silo;
      for (int from = 0; from < out.length; from += mask.length) {
        int n = Math.min(mask.length, out.length - from);
        byte[] ks = prg.update(zeros, 0, 4 * n);
        ByteBuffer.wrap(ks).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(mask, 0, n);
        if (add) {
          for (int k = 0; k < n; k++) out[from + k] += mask[k];
        } else {
          for (int k = 0; k < n; k++) out[from + k] -= mask[k];
        }
      }
    }
    return out;
  }

  /** Adds {@code masked} into {@code acc} modulo 2^32, in place, and returns {@code acc}. */
  public static int[] add(int[] acc, int[] masked) {
    if (acc.length != masked.length) {
      throw new IllegalArgumentException("masked sum: expected vectors of " + acc.length + " values, found "
          + masked.length);
    }
    for (int i = 0; i < acc.length; i++) acc[i] += masked[i];
    return acc;
  }

  /** The float sum of a complete modular sum of masked vectors: signed 32-bit value / scale. */
  public static float[] unmaskSum(int[] sum, double fixedPointScale) {
    checkScale(fixedPointScale);
    float[] out = new float[sum.length];
    double inv = 1.0 / fixedPointScale;
    for (int i = 0; i < sum.length; i++) out[i] = (float) (sum[i] * inv);
    return out;
  }

  /** round(x * scale) per coordinate, failing on non-finite values and |x * scale| &gt;= 2^31. */
  static int[] quantize(float[] update, double scale) {
    checkScale(scale);
    int[] q = new int[update.length];
    for (int i = 0; i < q.length; i++) {
      double v = Math.rint(update[i] * scale);
      if (!(Math.abs(v) < 2147483648.0)) {
        throw new IllegalArgumentException("secure aggregation: value " + update[i] + " at index " + i
            + " is outside the fixed-point range (|x| < " + 2147483648.0 / scale + " at scale " + scale + ")");
      }
      q[i] = (int) v;
    }
    return q;
  }

  private static void checkScale(double scale) {
    if (!(scale >= 1) || Double.isInfinite(scale)) {
      throw new IllegalArgumentException("fixed-point scale: expected finite and >= 1, found " + scale);
    }
  }

  /** The X25519 shared secret of a private and a public key. */
  static byte[] agree(PrivateKey priv, PublicKey pub) {
    try {
      KeyAgreement ka = KeyAgreement.getInstance("XDH");
      ka.init(priv);
      ka.doPhase(pub, true);
      return ka.generateSecret();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 key agreement failed", e);
    }
  }

  /** AES-256-CTR keyed by SHA-256(domain, shared secret, round), zero IV (the key is per pair and round). */
  private static Cipher maskStream(byte[] shared, long round) {
    try {
      Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(sha256(MASK_DOMAIN, shared, longBytes(round)), "AES"),
          new IvParameterSpec(new byte[16]));
      return c;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-CTR mask generator failed", e);
    }
  }

  private static byte[] sha256(byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) {
        md.update(ByteBuffer.allocate(4).putInt(p.length).array()); // length-prefixed: unambiguous
        md.update(p);
      }
      return md.digest();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  private static byte[] longBytes(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }
}
