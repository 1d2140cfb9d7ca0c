package io.sparktrain.collective;

import java.io.IOException;

/** A collective operation failed: a peer closed, stopped answering, or never arrived. */
public final class CollectiveException extends IOException {
  private static final long serialVersionUID = 1L;

  public CollectiveException(String message, Throwable cause) {
    super(message, cause);
  }
}
