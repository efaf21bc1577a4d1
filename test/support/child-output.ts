/**
 * A child's stdout read as text, piece by piece: wait until it says something ("ready"), let it
 * work, then take the rest once it ends. Used by the tests and the bench for helper processes
 * that announce themselves and report at exit (the datagram readers).
 */

/** The text a child wrote so far, read through one reader of its stdout. */
export class ChildOutput {
  readonly #reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
  readonly #decoder = new TextDecoder();
  /** Everything read so far. */
  text = "";

  constructor(stdout: ReadableStream<Uint8Array>) {
    this.#reader = stdout.getReader();
  }

  /** Reads until `marker` is in the text; returns false if the stream ended first. */
  async until(marker: string): Promise<boolean> {
    while (!this.text.includes(marker)) {
      const { value, done } = await this.#reader.read();
      if (done) return false;
      this.text += this.#decoder.decode(value, { stream: true });
    }
    return true;
  }

  /** Reads to the end of the stream and returns the whole text. */
  async rest(): Promise<string> {
    for (;;) {
      const { value, done } = await this.#reader.read();
      if (done) return this.text;
      this.text += this.#decoder.decode(value, { stream: true });
    }
  }
}
