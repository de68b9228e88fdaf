// What `scan` tells a program: the JSON document of docs/scan-json.md, without the image's tree
// and the other working state the scan keeps for the commands that go on from it.
import type { ScanReport } from '../classify/scan-directory.js';
import { reportHeader } from './report-header.js';

export function scanJson(report: ScanReport) {
  return { ...reportHeader('scan'), image: report.image, counts: report.counts, ldSoConf: report.ldSoConf, files: report.files };
}
