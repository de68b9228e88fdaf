// The SDK's reference layers (sdk/prebuilt/<machine>/layers/), inlined so that the inspector can say
// what plan would choose before the user drops layer objects of their own.
import x86_64_3_2 from '../../sdk/prebuilt/x86_64/layers/linux-3.2.o';
import x86_64_4_11 from '../../sdk/prebuilt/x86_64/layers/linux-4.11.o';
import aarch64_3_2 from '../../sdk/prebuilt/aarch64/layers/linux-3.2.o';
import aarch64_4_11 from '../../sdk/prebuilt/aarch64/layers/linux-4.11.o';

export const REFERENCE_LAYERS: readonly { path: string; bytes: Uint8Array }[] = [
  { path: 'sdk/prebuilt/x86_64/layers/linux-3.2.o', bytes: x86_64_3_2 },
  { path: 'sdk/prebuilt/x86_64/layers/linux-4.11.o', bytes: x86_64_4_11 },
  { path: 'sdk/prebuilt/aarch64/layers/linux-3.2.o', bytes: aarch64_3_2 },
  { path: 'sdk/prebuilt/aarch64/layers/linux-4.11.o', bytes: aarch64_4_11 },
];
