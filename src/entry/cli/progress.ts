import { SingleBar, Presets } from 'cli-progress';
import type { Progress } from '../../app/composition.js';

const MiB = 2 ** 20;

/** A progress bar on a terminal; plain lines (every 10%) when stderr is piped. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  let bar: SingleBar | undefined;
  let startedAt = Date.now();
  return {
    start(label, total) {
      bar?.stop();
      bar = new SingleBar(
        { stream, format: `${label} [{bar}] {percentage}% {doneMiB}/{totalMiB} MiB {speed} MiB/s`, hideCursor: true, clearOnComplete: false },
        Presets.shades_classic,
      );
      bar.start(total ?? 0, 0, { doneMiB: '0', totalMiB: total ? (total / MiB).toFixed(1) : '?', speed: '0' });
      startedAt = Date.now();
    },
    update(done) {
      const seconds = (Date.now() - startedAt) / 1000;
      bar?.update(done, { doneMiB: (done / MiB).toFixed(1), speed: seconds > 0 ? (done / MiB / seconds).toFixed(1) : '0' });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
    log(message) {
      stream.write(`${message}\n`);
    },
  };
}
function lineProgress(stream: NodeJS.WriteStream): Progress {
  let label = '';
  let total: number | undefined;
  let lastDecile = -1;
  return {
    start(nextLabel, nextTotal) {
      label = nextLabel;
      total = nextTotal;
      lastDecile = -1;
    },
    update(done) {
      if (!total) return;
      const decile = Math.floor((done / total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${label}: ${decile * 10}% (${(done / MiB).toFixed(1)} of ${(total / MiB).toFixed(1)} MiB)\n`);
      }
    },
    stop() {},
    log(message) {
      stream.write(`${message}\n`);
    },
  };
}
