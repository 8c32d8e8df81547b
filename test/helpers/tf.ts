// TensorFlow.js on its CPU backend, for checking backward kernels against autodiff of the forward
// (tf.grad / tf.grads of the forward written in tf ops), so a kernel and its reference cannot share
// a mistake. One setup per test worker; tfjs's "install tfjs-node" banner is silenced.
import * as tf from '@tensorflow/tfjs';

let ready: Promise<typeof tf> | null = null;

export function tfCpu(): Promise<typeof tf> {
  ready ??= (async () => {
    const warn = console.warn;
    const log = console.log;
    console.warn = () => {};
    console.log = () => {};
    try {
      await tf.setBackend('cpu');
      await tf.ready();
      tf.tensor1d([0]).dispose(); // the CPU backend prints its banner at its first write
    } finally {
      console.warn = warn;
      console.log = log;
    }
    return tf;
  })();
  return ready;
}

export type Tensor = tf.Tensor;
