package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SecureAggregationTest {
  private static final int SILOS = 5;
  private static final int D = 2000;
  private static final long ROUND = 17;
  private static final double SCALE = SecureAggregation.DEFAULT_SCALE;

  private float[][] updates;
  private KeyPair[] keys;
  private Map<Integer, byte[]> publicKeys;

  @BeforeEach
  void setUp() {
    SplittableRandom rnd = new SplittableRandom(3);
    updates = new float[SILOS][D];
    keys = new KeyPair[SILOS];
    publicKeys = new LinkedHashMap<>();
    for (int s = 0; s < SILOS; s++) {
      for (int i = 0; i < D; i++) updates[s][i] = (float) (rnd.nextGaussian() * 0.5 + 1.0);
      keys[s] = SecureAggregation.keyPair(secret(s), ROUND);
      publicKeys.put(10 + s, SecureAggregation.publicKeyBytes(keys[s].getPublic())); // silo ids 10..14
    }
  }

  /** RFC 7748 Sec. 6.1: Alice's and Bob's public keys from their scalars, and their shared secret. */
  @Test
  void x25519MatchesRfc7748TestVectors() {
    HexFormat hex = HexFormat.of();
    KeyPair alice = SecureAggregation.keyPairFromScalar(
        hex.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    KeyPair bob = SecureAggregation.keyPairFromScalar(
        hex.parseHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    assertEquals("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        hex.formatHex(SecureAggregation.publicKeyBytes(alice.getPublic())));
    assertEquals("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        hex.formatHex(SecureAggregation.publicKeyBytes(bob.getPublic())));
    String shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    assertEquals(shared, hex.formatHex(SecureAggregation.agree(alice.getPrivate(),
        SecureAggregation.decodePublicKey(SecureAggregation.publicKeyBytes(bob.getPublic())))));
    assertEquals(shared, hex.formatHex(SecureAggregation.agree(bob.getPrivate(), alice.getPublic())));
  }

  @Test
  void keysAreDeterministicPerSecretAndRound() {
    byte[] again = SecureAggregation.publicKeyBytes(SecureAggregation.keyPair(secret(0), ROUND).getPublic());
    assertArrayEquals(publicKeys.get(10), again);
    assertFalse(Arrays.equals(publicKeys.get(10),
        SecureAggregation.publicKeyBytes(SecureAggregation.keyPair(secret(0), ROUND + 1).getPublic())));
    assertThrows(IllegalArgumentException.class, () -> SecureAggregation.keyPair(new byte[4], 1));
  }

  /** The masks cancel: the modular sum decodes to the plain sum within n / (2 scale) (+ float rounding). */
  @Test
  void sumOfMaskedVectorsIsThePlainSum() {
    int[] total = new int[D];
    for (int s = 0; s < SILOS; s++) SecureAggregation.add(total, maskedOf(s));
    float[] sum = SecureAggregation.unmaskSum(total, SCALE);
    double tol = SILOS / (2 * SCALE);
    for (int i = 0; i < D; i++) {
      double plain = 0;
      double quantized = 0;
      for (int s = 0; s < SILOS; s++) {
        plain += updates[s][i];
        quantized += Math.rint(updates[s][i] * SCALE);
      }
      assertEquals(plain, sum[i], tol + Math.ulp((float) plain), "coordinate " + i);
      assertEquals((float) (quantized / SCALE), sum[i], "masks cancel exactly, coordinate " + i);
    }
  }

  /** Modular addition is associative and commutative: a tree of partial sums gives the same result. */
  @Test
  void maskedVectorsSumInAnyGrouping() {
    int[][] m = new int[SILOS][];
    for (int s = 0; s < SILOS; s++) m[s] = maskedOf(s);
    int[] flat = new int[D];
    for (int s = 0; s < SILOS; s++) SecureAggregation.add(flat, m[s]);
    int[] left = SecureAggregation.add(m[3].clone(), m[0]);
    int[] right = SecureAggregation.add(SecureAggregation.add(m[4].clone(), m[1]), m[2]);
    assertArrayEquals(flat, SecureAggregation.add(right, left));
    // A partial sum (silos missing) does not decode to the partial plain sum.
    int[] partial = SecureAggregation.add(m[0].clone(), m[1]);
    float[] wrong = SecureAggregation.unmaskSum(partial, SCALE);
    assertTrue(Math.abs(wrong[0] - (updates[0][0] + updates[1][0])) > 1);
  }

  @Test
  void maskingIsDeterministic() {
    assertArrayEquals(maskedOf(2), maskedOf(2));
    int[] otherRound = SecureAggregation.mask(12, updates[2], publicKeys, keys[2].getPrivate(), ROUND + 1, SCALE);
    assertFalse(Arrays.equals(maskedOf(2), otherRound));
  }

  /**
   * One masked vector looks uniform on Z_2^32: as signed values / 2^31 its mean is ~0 and its
   * variance ~1/3 (uniform on [-1, 1)), and it is uncorrelated with the update (whose mean is 1).
   */
  @Test
  void aMaskedVectorLooksUniform() {
    int[] m = maskedOf(1);
    double[] u = new double[D];
    for (int i = 0; i < D; i++) u[i] = m[i] / 2147483648.0;
    double mean = Arrays.stream(u).average().orElseThrow();
    double var = Arrays.stream(u).map(x -> (x - mean) * (x - mean)).sum() / (D - 1);
    assertEquals(0, mean, 4 * Math.sqrt(1.0 / 3 / D));
    assertEquals(1.0 / 3, var, 0.03);
    float[] x = updates[1];
    double xm = 0;
    for (float v : x) xm += v;
    xm /= D;
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < D; i++) {
      sxy += (x[i] - xm) * (u[i] - mean);
      sxx += (x[i] - xm) * (x[i] - xm);
    }
    double corr = sxy / Math.sqrt(sxx * var * (D - 1));
    assertEquals(0, corr, 4 / Math.sqrt(D));
    // Decoded alone, it is nowhere near the update.
    float[] alone = SecureAggregation.unmaskSum(m, SCALE);
    double decodedMean = 0;
    for (float v : alone) decodedMean += Math.abs(v);
    assertTrue(decodedMean / D > 1000, "mean |decoded| " + decodedMean / D);
  }

  @Test
  void rejectsValuesOutsideTheFixedPointRange() {
    float[] big = {40000f};
    assertThrows(IllegalArgumentException.class,
        () -> SecureAggregation.mask(10, big, publicKeys, keys[0].getPrivate(), ROUND, SCALE));
    assertThrows(IllegalArgumentException.class, () -> SecureAggregation.unmaskSum(new int[1], 0.5));
  }

  private int[] maskedOf(int s) {
    return SecureAggregation.mask(10 + s, updates[s], publicKeys, keys[s].getPrivate(), ROUND, SCALE);
  }

  private static byte[] secret(int s) {
    return ("silo secret number " + s + " (test only)").getBytes(StandardCharsets.US_ASCII);
  }
}
