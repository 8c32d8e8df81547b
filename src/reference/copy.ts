// Naive CPU copy (the copy kernel's reference).

/** src [n] → a new array equal to src */
export function copyRef(src: Float32Array): Float32Array {
  return Float32Array.from(src);
}
