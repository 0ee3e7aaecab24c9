/**
 * Reads of the store kept by key: the first `get` of a key reads, later ones share that read (a failed read is not
 * kept). For what this server writes through one place, which forgets the key once its write is done, and what
 * another replica changes, which the change feed forgets (change-follower.ts).
 */
export class ReadCache<V> {
  private readonly byKey = new Map<string, Promise<V>>();

  get(key: string, read: () => Promise<V>): Promise<V> {
    let hit = this.byKey.get(key);
    if (hit === undefined) {
      hit = read();
      this.byKey.set(key, hit);
      hit.catch(() => {
        if (this.byKey.get(key) === hit) this.byKey.delete(key);
      });
    }
    return hit;
  }

  /** Forgets the key's read (every key's, without one). */
  forget(key?: string): void {
    if (key === undefined) this.byKey.clear();
    else this.byKey.delete(key);
  }
}
