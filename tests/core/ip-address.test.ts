import { describe, expect, test } from 'bun:test';
import { clientKey, inRanges, isPublicAddress, parseAddressRange, parseIpAddress } from '../../core/ip-address.ts';

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

describe('ranges and client keys', () => {
  test('a range is an address or address/bits, IPv4 or IPv6, and nothing else', () => {
    const ranges = ['10.0.0.0/8', '127.0.0.1', 'fd00::/8'].map((r) => parseAddressRange(r));
    expect(ranges.every((r) => r !== undefined)).toBe(true);
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'x/8', '10.0.0.0/-1', '10.0.0.0/'])
      expect(parseAddressRange(bad)).toBeUndefined();
    const valid = ranges.filter((r) => r !== undefined);
    expect(inRanges('10.200.3.4', valid)).toBe(true);
    expect(inRanges('::ffff:10.1.1.1', valid)).toBe(true);
    expect(inRanges('127.0.0.2', valid)).toBe(false);
    expect(inRanges('fd12::1', valid)).toBe(true);
    expect(inRanges('not an address', valid)).toBe(false);
  });

  test('a client is counted as its IPv4 address or its IPv6 /64', () => {
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:ffff::9'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
    expect(clientKey('garbage')).toBeUndefined();
  });
});
