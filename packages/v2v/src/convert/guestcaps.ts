/** What the converted guest can drive on the target: the input of the target's metadata. */
export interface GuestCaps {
  readonly blockBus: 'virtio' | 'ide';
  readonly netModel: 'virtio' | 'e1000';
  readonly virtioRng: boolean;
  readonly virtioBalloon: boolean;
  readonly isaPvpanic: boolean;
  readonly virtioSocket: boolean;
  readonly machine: 'q35' | 'pc';
  readonly arch: string;
  readonly acpi: boolean;
}
