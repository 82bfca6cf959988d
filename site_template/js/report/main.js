/**
 * Entry point of the report page: fetch dist/report.json (same origin, written
 * by `pipeline build`) and hand each part to its view. body[data-ready="true"]
 * once everything is drawn; #report-status[data-state="error"] if it cannot be.
 */
import * as views from './views.js';
import { watchWideTables } from './scroll-cue.js';

const config = views.readConfig();

async function show() {
  const version = views.assetVersion();
  const response = await fetch(`${config.reportUrl}?v=${version}`);
  if (!response.ok) throw new Error(`${config.reportUrl}: HTTP ${response.status}`);
  const report = await response.json();
  if (!report.available) {
    views.showError(`This build has no evaluation of the model (${report.reason}).`);
    return;
  }
  const spriteUrl = `${report.sprite.url}?v=${version}`;
  // The digits below are cells of this one image: ready waits until it is loaded (or has failed, which the
  // console reports), so "ready" means the digits are visible, not blank boxes.
  const sprite = new Image();
  sprite.src = new URL(spriteUrl, document.baseURI).href;
  views.renderSummary(report);
  views.renderCurves(report.history);
  views.renderConfusion(report.labels, report.evaluation.confusion_matrix, report.evaluation.per_class);
  views.renderEvaluationNote(report.evaluation);
  views.renderDigits(views.lists.grid, report.grid, report.labels, report.sprite, spriteUrl);
  views.renderDigits(views.lists.mistakes, report.mistakes, report.labels, report.sprite, spriteUrl);
  views.renderArchitecture(report.architecture);
  watchWideTables();
  await sprite.decode().catch(() => {});
  views.showReady();
}

show().catch((err) => views.showError(`Sorry, the report could not be loaded. Please reload the page. (${err.message})`));
