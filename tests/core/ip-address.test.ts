import { describe, expect, test } from 'bun:test';
import { isPublicAddress, parseIpAddress } from '../../core/ip-address.ts';

/** The address rules for server-side fetches a customer can aim (domain checks, webhooks). */

const REFUSED = [
  '127.0.0.1',
  '127.255.255.254',
  '0.0.0.0',
  '10.0.0.1',
  '100.64.0.1',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '192.0.2.10',
  '198.18.0.1',
  '224.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:169.254.169.254',
  '64:ff9b::10.0.0.1',
  '2002:7f00:1::',
  '2002:a9fe:a9fe::1',
  'fc00::1',
  'fd00:ec2::254',
  'fe80::1',
  'ff02::1',
  '2001:db8::1',
  '2001:0:4136:e378:8000:63bf:3fff:fdd2',
];

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '100.128.0.1',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '2002:808:808::1',
];

const MALFORMED = [
  '',
  'localhost',
  '1.2.3',
  '1.2.3.4.5',
  '01.2.3.4',
  '256.1.1.1',
  '1::2::3',
  '12345::',
  'fe80::1%eth0',
  'g::1',
];

describe('isPublicAddress', () => {
  test.each(REFUSED)('refuses %s', (address) => {
    expect(parseIpAddress(address)).toBeDefined();
    expect(isPublicAddress(address)).toBe(false);
  });

  test.each(PUBLIC)('allows %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  test.each(MALFORMED)('refuses the malformed %p', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  test('reads IPv6 forms exactly: compression, an IPv4 tail, leading zeros in groups', () => {
    expect(parseIpAddress('0:0:0:0:0:0:0:1')).toBe(1n);
    expect(parseIpAddress('::ffff:1.2.3.4')).toBe(parseIpAddress('1.2.3.4'));
    expect(parseIpAddress('2001:0db8::0001')).toBe(parseIpAddress('2001:db8::1'));
    expect(parseIpAddress('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(parseIpAddress('1:2:3:4:5:6:7:8:9')).toBeUndefined();
  });
});
