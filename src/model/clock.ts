/**
 * Where time comes from (STYLE.md §3): the control plane passes the system clock,
 * tests a clock they move by hand. Milliseconds since the epoch, like the store's
 * timestamps. Pure layers never read a clock; they take `now` as an argument.
 */
export interface Clock {
  now(): number;
}
