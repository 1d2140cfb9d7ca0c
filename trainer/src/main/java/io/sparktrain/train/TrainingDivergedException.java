package io.sparktrain.train;

/** Training met a non-finite loss or update; the message names the round and the last good checkpoint. */
public class TrainingDivergedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TrainingDivergedException(String message) {
    super(message);
  }
}
