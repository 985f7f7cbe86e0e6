/**
 * The SoC of an Android device, from its system properties (`getprop`), and
 * whether ExecuTorch's QNN backend can use its NPU. Android 12 and later
 * report `ro.soc.manufacturer` / `ro.soc.model`; older releases only the
 * board platform's code name, which is mapped to the SoC here.
 */

export type AndroidProps = Record<string, string>;

/** Parses `getprop` output: lines of `[key]: [value]`; anything else is skipped. */
export function parseGetprop(text: string): AndroidProps {
  const props: AndroidProps = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\[([^\]]+)\]: \[(.*)\]\s*$/.exec(line);
    if (match && match[2] !== '') props[match[1]!] = match[2]!;
  }
  return props;
}

/** Hexagon (HTP) versions of the SoCs ExecuTorch's QNN backend targets (executorch 1.5.1, backends/qualcomm/serialization/qc_schema.py). */
export const QNN_HTP_ARCH: Readonly<Record<string, string>> = {
  SA8295: 'v68',
  SA8797: 'v81',
  SC8380XP: 'v73',
  SM8350: 'v68',
  SM8450: 'v69',
  SM8475: 'v69',
  SM8550: 'v73',
  SM8650: 'v75',
  SM8750: 'v79',
  SM8850: 'v81',
  SM8845: 'v81',
  SSG2115P: 'v73',
  SSG2125P: 'v73',
  SXR1230P: 'v73',
  SXR2230P: 'v69',
  SXR2330P: 'v79',
  QCS9100: 'v73',
  SAR2230P: 'v81',
  SA8255: 'v73',
  SW6100: 'v81',
  QCM6490: 'v68',
};

const SOC_NAMES: Readonly<Record<string, string>> = {
  SM8150: 'Snapdragon 855',
  SM8250: 'Snapdragon 865',
  SM8350: 'Snapdragon 888',
  SM8450: 'Snapdragon 8 Gen 1',
  SM8475: 'Snapdragon 8+ Gen 1',
  SM8550: 'Snapdragon 8 Gen 2',
  SM8650: 'Snapdragon 8 Gen 3',
  SM8750: 'Snapdragon 8 Elite',
  SM8850: 'Snapdragon 8 Elite Gen 5',
  SA8155: 'Snapdragon Automotive SA8155P',
  SA8255: 'Snapdragon Cockpit SA8255P',
  SA8295: 'Snapdragon Cockpit SA8295P',
  QCM6490: 'Qualcomm QCM6490',
  SC8380XP: 'Snapdragon X Elite',
};

/** Qualcomm board platform code names, for releases before Android 12 (no ro.soc.*). */
const QUALCOMM_PLATFORMS: Readonly<Record<string, string>> = {
  msmnile: 'SM8150',
  kona: 'SM8250',
  lahaina: 'SM8350',
  taro: 'SM8450',
  kalama: 'SM8550',
  pineapple: 'SM8650',
  sun: 'SM8750',
};

export interface AndroidSoc {
  manufacturer: string;
  model: string;
  name?: string;
  platform?: string;
  /** The NPU QNN can run on, if the SoC has one it supports. */
  npu?: { kind: 'qnn-htp'; htpArch: string; chipset: string };
  /** The Vulkan driver the device declares (ro.hardware.vulkan), e.g. adreno or mali. */
  vulkanDriver?: string;
}

const QUALCOMM = /^(qti|qualcomm|qcom)/i;

/** The SoC the properties describe, or undefined when they say nothing about it. */
export function socFromProps(props: AndroidProps): AndroidSoc | undefined {
  const platform = props['ro.board.platform'];
  let manufacturer = props['ro.soc.manufacturer'];
  let model = props['ro.soc.model'];
  if (!model && platform && QUALCOMM_PLATFORMS[platform]) {
    model = QUALCOMM_PLATFORMS[platform];
    manufacturer ??= 'Qualcomm';
  }
  if (!model) return undefined;
  manufacturer ??= props['ro.hardware'] === 'qcom' ? 'Qualcomm' : 'unknown';
  const qualcomm = QUALCOMM.test(manufacturer);
  const chipset = qualcomm ? qnnChipset(model) : undefined;
  const vulkanDriver = props['ro.hardware.vulkan'];
  const key = model.toUpperCase().replace(/P$/, '');
  return {
    manufacturer: qualcomm ? 'Qualcomm' : manufacturer,
    model,
    ...(SOC_NAMES[key] ? { name: SOC_NAMES[key] } : {}),
    ...(platform ? { platform } : {}),
    ...(chipset ? { npu: { kind: 'qnn-htp' as const, htpArch: QNN_HTP_ARCH[chipset]!, chipset } } : {}),
    ...(vulkanDriver ? { vulkanDriver } : {}),
  };
}

/** The QNN chipset name for a SoC model ("SA8295P" is QNN's SA8295). */
function qnnChipset(model: string): string | undefined {
  const upper = model.toUpperCase();
  if (QNN_HTP_ARCH[upper]) return upper;
  const trimmed = upper.replace(/P$/, '');
  return QNN_HTP_ARCH[trimmed] ? trimmed : undefined;
}
