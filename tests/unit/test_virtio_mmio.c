/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport (version 2) with a device that is neither block
 * nor net: identification, feature negotiation over both halves, the status
 * state machine, queue set-up, register access rules, config space,
 * interrupts, NEEDS_RESET and save/restore. No KVM: vm_fd is -1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "tests/unit/virtio_driver.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/util/log.h"

#define RAM_SIZE (2ULL << 20)
#define QSIZE 16
#define FAKE_ID 42

#define OFFER_LOW (VIRTIO_BIT(1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX))
#define OFFER_HIGH (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(35))
#define OFFER (OFFER_LOW | OFFER_HIGH)

#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV VIRTIO_STATUS_DRIVER
#define S_FOK VIRTIO_STATUS_FEATURES_OK
#define S_DOK VIRTIO_STATUS_DRIVER_OK

#define INT_USED 1
#define INT_CONFIG 2

struct fake_dev {
	struct virtio_mmio t;
	unsigned int resets, activations, notifies, last_notified;
	int activate_ret;
	uint64_t cfg_read_off, cfg_write_off;
	uint32_t cfg_read_len, cfg_write_len;
	uint8_t cfg_written[8];
};

static uint64_t fake_features(void *dev)
{
	(void)dev;
	return OFFER;
}

/* Config byte at offset o reads as 0xa0 + o. */
static void fake_config_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct fake_dev *f = dev;

	f->cfg_read_off = offset;
	f->cfg_read_len = len;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(0xa0 + offset + i);
}

static void fake_config_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct fake_dev *f = dev;

	f->cfg_write_off = offset;
	f->cfg_write_len = len;
	memcpy(f->cfg_written, data, len < 8 ? len : 8);
}

static int fake_activate(void *dev)
{
	struct fake_dev *f = dev;

	f->activations++;
	return f->activate_ret;
}

static void fake_reset(void *dev)
{
	((struct fake_dev *)dev)->resets++;
}

/* What a device does on a kick: drain the queue, give up on a corrupt ring. */
static void fake_queue_notify(void *dev, unsigned int q)
{
	static struct virtq_chain chain;
	struct fake_dev *f = dev;
	enum virtq_pop_result r;

	f->notifies++;
	f->last_notified = q;
	while ((r = virtq_pop(&f->t.queues[q], f->t.mem, &chain)) != VIRTQ_EMPTY) {
		if (r == VIRTQ_BROKEN) {
			virtio_mmio_needs_reset(&f->t);
			return;
		}
		virtq_push(&f->t.queues[q], f->t.mem, chain.head, 0);
	}
	virtio_mmio_signal_used(&f->t, q);
}

static const struct virtio_device_ops fake_ops = {
	.name = "fake",
	.device_id = FAKE_ID,
	.num_queues = 2,
	.features = fake_features,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.reset = fake_reset,
	.queue_notify = fake_queue_notify,
};

static uint8_t *ram;
static struct guest_mem mem;
static struct fake_dev dev;
static struct virtio_mmio *t = &dev.t;
static const struct test_vq vq0 = { QSIZE, 0x1000, 0x2000, 0x3000 };
static const struct test_vq vq1 = { QSIZE, 0x5000, 0x6000, 0x7000 };

static void setup(void)
{
	struct err_buf err;

	log_configure(LOG_OFF, NULL, false, false);
	ram = aligned_alloc(4096, RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0, RAM_SIZE);
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
	memset(&dev, 0, sizeof(dev));
	cr_assert_eq(virtio_mmio_init(t, &fake_ops, &dev, &mem, NULL, -1, 0xc0001000, 5, &err), 0,
		     "%s", err.msg);
}

static void teardown(void)
{
	virtio_mmio_destroy(t);
	free(ram);
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

static uint32_t status(void)
{
	return mmio_read32(t, MMIO_STATUS);
}

/* Both queues set up and the device running. */
static void bring_up(void)
{
	driver_negotiate(t, OFFER);
	driver_setup_queue(t, 0, &vq0);
	driver_setup_queue(t, 1, &vq1);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(status(), S_ACK | S_DRV | S_FOK | S_DOK);
}

/* ---- identification ---- */

Test(virtio_mmio, magic_value_is_virt)
{
	cr_assert_eq(mmio_read32(t, MMIO_MAGIC_VALUE), 0x74726976);
}

Test(virtio_mmio, version_is_2)
{
	cr_assert_eq(mmio_read32(t, MMIO_VERSION), 2);
}

Test(virtio_mmio, device_id_comes_from_the_device)
{
	cr_assert_eq(mmio_read32(t, MMIO_DEVICE_ID), FAKE_ID);
}

Test(virtio_mmio, vendor_id_is_zero)
{
	cr_assert_eq(mmio_read32(t, MMIO_VENDOR_ID), 0);
}

/* ---- features ---- */

Test(virtio_mmio, device_features_selector_0_reads_the_low_half)
{
	mmio_write32(t, MMIO_DEVICE_FEAT_SEL, 0);
	cr_assert_eq(mmio_read32(t, MMIO_DEVICE_FEATURES), (uint32_t)OFFER);
}

Test(virtio_mmio, device_features_selector_1_reads_the_high_half)
{
	mmio_write32(t, MMIO_DEVICE_FEAT_SEL, 1);
	cr_assert_eq(mmio_read32(t, MMIO_DEVICE_FEATURES), (uint32_t)(OFFER >> 32));
}

Test(virtio_mmio, device_features_beyond_selector_1_read_as_zero)
{
	mmio_write32(t, MMIO_DEVICE_FEAT_SEL, 2);
	cr_assert_eq(mmio_read32(t, MMIO_DEVICE_FEATURES), 0);
	mmio_write32(t, MMIO_DEVICE_FEAT_SEL, 0xffffffff);
	cr_assert_eq(mmio_read32(t, MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, driver_features_are_written_in_two_halves)
{
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 1);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)(OFFER_HIGH >> 32));
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)OFFER_LOW);
	cr_assert_eq(t->driver_features, OFFER);
}

Test(virtio_mmio, driver_features_beyond_selector_1_are_ignored)
{
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 2);
	mmio_write32(t, MMIO_DRIVER_FEATURES, 0xffffffff);
	cr_assert_eq(t->driver_features, 0);
}

Test(virtio_mmio, driver_features_are_frozen_once_features_ok_is_set)
{
	driver_negotiate(t, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cr_assert(status() & S_FOK);
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)OFFER_LOW);
	cr_assert_eq(t->driver_features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

Test(virtio_mmio, features_ok_is_refused_for_a_feature_not_offered)
{
	driver_negotiate(t, OFFER | VIRTIO_BIT(2));
	cr_assert_eq(status(), S_ACK | S_DRV, "FEATURES_OK must read back clear");
}

Test(virtio_mmio, features_ok_is_refused_for_an_unoffered_high_feature)
{
	driver_negotiate(t, OFFER | VIRTIO_BIT(40));
	cr_assert_eq(status(), S_ACK | S_DRV);
}

Test(virtio_mmio, features_ok_is_refused_without_version_1)
{
	driver_negotiate(t, OFFER_LOW);
	cr_assert_eq(status(), S_ACK | S_DRV);
}

Test(virtio_mmio, features_ok_is_accepted_for_a_subset_of_the_offer)
{
	driver_negotiate(t, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(35));
	cr_assert_eq(status(), S_ACK | S_DRV | S_FOK);
	cr_assert(virtio_mmio_has_feature(t, 35));
	cr_assert_not(virtio_mmio_has_feature(t, 1));
}

Test(virtio_mmio, features_ok_applies_event_idx_and_indirect_to_the_queues)
{
	driver_negotiate(t, OFFER);
	cr_assert(t->queues[0].event_idx && t->queues[1].event_idx);
	cr_assert(t->queues[0].indirect && t->queues[1].indirect);
}

Test(virtio_mmio, features_ok_without_event_idx_or_indirect_leaves_them_off)
{
	driver_negotiate(t, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cr_assert_not(t->queues[0].event_idx);
	cr_assert_not(t->queues[0].indirect);
}

/* ---- status ---- */

Test(virtio_mmio, driver_ok_before_features_ok_is_ignored)
{
	mmio_write32(t, MMIO_STATUS, S_ACK);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	cr_assert_eq(status(), S_ACK | S_DRV);
	cr_assert_eq(dev.activations, 0);
}

Test(virtio_mmio, driver_ok_activates_the_device_once)
{
	bring_up();
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(dev.activations, 1);
}

Test(virtio_mmio, status_bits_cannot_be_cleared_without_a_reset)
{
	unsigned int resets;

	driver_negotiate(t, OFFER);
	resets = dev.resets;
	mmio_write32(t, MMIO_STATUS, S_ACK);
	cr_assert_eq(status(), S_ACK | S_DRV | S_FOK);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV);
	cr_assert_eq(status(), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(dev.resets, resets);
}

Test(virtio_mmio, writing_zero_to_status_resets_the_device)
{
	unsigned int resets;

	bring_up();
	virtio_mmio_config_changed(t);
	resets = dev.resets;
	mmio_write32(t, MMIO_STATUS, 0);

	cr_assert_eq(dev.resets, resets + 1);
	cr_assert_eq(status(), 0);
	cr_assert_eq(t->driver_features, 0);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS), 0);
	for (unsigned int q = 0; q < 2; q++) {
		mmio_write32(t, MMIO_QUEUE_SEL, q);
		cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 0, "queue %u", q);
		cr_assert_eq(t->queues[q].desc_gpa, 0);
		cr_assert_eq(t->queues[q].size, VIRTQ_MAX_SIZE);
		cr_assert_not(t->queues[q].event_idx);
	}
}

Test(virtio_mmio, device_can_be_brought_up_again_after_a_reset)
{
	bring_up();
	mmio_write32(t, MMIO_STATUS, 0);
	bring_up();
	cr_assert_eq(dev.activations, 2);
}

/* ---- queues ---- */

Test(virtio_mmio, queue_num_max_is_256_for_a_queue_and_0_beyond)
{
	mmio_write32(t, MMIO_QUEUE_SEL, 1);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	mmio_write32(t, MMIO_QUEUE_SEL, 2);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_NUM_MAX), 0);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_registers_program_the_selected_queue)
{
	driver_setup_queue(t, 1, &vq1);
	cr_assert(t->queues[1].ready);
	cr_assert_eq(t->queues[1].size, QSIZE);
	cr_assert_eq(t->queues[1].desc_gpa, vq1.desc);
	cr_assert_eq(t->queues[1].avail_gpa, vq1.avail);
	cr_assert_eq(t->queues[1].used_gpa, vq1.used);
	cr_assert_not(t->queues[0].ready);
}

Test(virtio_mmio, queue_addresses_take_both_halves)
{
	mmio_write32(t, MMIO_QUEUE_SEL, 0);
	mmio_write32(t, MMIO_QUEUE_DESC_LOW, 0x1000);
	mmio_write32(t, MMIO_QUEUE_DESC_HIGH, 0x2);
	cr_assert_eq(t->queues[0].desc_gpa, 0x200001000ULL);
}

Test(virtio_mmio, queue_registers_are_ignored_while_the_queue_is_ready)
{
	driver_setup_queue(t, 0, &vq0);
	mmio_write32(t, MMIO_QUEUE_NUM, 8);
	mmio_write32(t, MMIO_QUEUE_DESC_LOW, 0x9000);
	mmio_write32(t, MMIO_QUEUE_AVAIL_LOW, 0x9000);
	mmio_write32(t, MMIO_QUEUE_USED_HIGH, 1);
	cr_assert_eq(t->queues[0].size, QSIZE);
	cr_assert_eq(t->queues[0].desc_gpa, vq0.desc);
	cr_assert_eq(t->queues[0].avail_gpa, vq0.avail);
	cr_assert_eq(t->queues[0].used_gpa, vq0.used);
}

Test(virtio_mmio, queue_layout_is_frozen_after_driver_ok)
{
	driver_negotiate(t, OFFER);
	driver_setup_queue(t, 0, &vq0);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	mmio_write32(t, MMIO_QUEUE_SEL, 1);
	mmio_write32(t, MMIO_QUEUE_NUM, 8);
	mmio_write32(t, MMIO_QUEUE_DESC_LOW, 0x9000);
	mmio_write32(t, MMIO_QUEUE_READY, 1);
	cr_assert_eq(t->queues[1].size, VIRTQ_MAX_SIZE);
	cr_assert_eq(t->queues[1].desc_gpa, 0);
	cr_assert_not(t->queues[1].ready);
}

Test(virtio_mmio, queue_ready_refuses_a_misaligned_descriptor_table)
{
	struct test_vq bad = vq0;

	bad.desc += 8;
	driver_setup_queue(t, 0, &bad);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_refuses_rings_outside_ram)
{
	struct test_vq bad = vq0;

	bad.used = RAM_SIZE;
	driver_setup_queue(t, 0, &bad);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_refuses_a_size_above_the_maximum)
{
	struct test_vq bad = vq0;

	bad.size = 512; /* QueueNum above QueueNumMax */
	driver_setup_queue(t, 0, &bad);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_refuses_a_size_that_is_not_a_power_of_two)
{
	struct test_vq bad = vq0;

	bad.size = 24;
	driver_setup_queue(t, 0, &bad);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_reads_back_1_once_enabled)
{
	driver_setup_queue(t, 0, &vq0);
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 1);
}

/* ---- register access rules ---- */

static void write_n(uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t data[8] = { 0 };

	memcpy(data, &v, 4);
	virtio_mmio_bus_ops.write(t, off, data, len);
}

Test(virtio_mmio, one_and_two_byte_register_writes_are_ignored)
{
	write_n(MMIO_STATUS, S_ACK, 1);
	write_n(MMIO_STATUS, S_ACK, 2);
	write_n(MMIO_QUEUE_SEL, 1, 2);
	cr_assert_eq(status(), 0);
	cr_assert_eq(t->queue_sel, 0);
}

Test(virtio_mmio, eight_byte_register_writes_are_ignored)
{
	write_n(MMIO_STATUS, S_ACK, 8);
	cr_assert_eq(status(), 0);
}

Test(virtio_mmio, one_and_two_byte_register_reads_return_zero)
{
	uint8_t data[2] = { 0xff, 0xff };

	virtio_mmio_bus_ops.read(t, MMIO_MAGIC_VALUE, data, 1);
	cr_assert_eq(data[0], 0);
	data[0] = 0xff;
	virtio_mmio_bus_ops.read(t, MMIO_MAGIC_VALUE, data, 2);
	cr_assert_eq(data[0] | data[1], 0);
}

Test(virtio_mmio, misaligned_register_accesses_are_ignored)
{
	write_n(MMIO_STATUS + 1, S_ACK, 4);
	write_n(MMIO_QUEUE_SEL + 2, 1, 4);
	cr_assert_eq(status(), 0);
	cr_assert_eq(t->queue_sel, 0);
	cr_assert_eq(mmio_read32(t, MMIO_MAGIC_VALUE + 1), 0);
}

Test(virtio_mmio, bad_register_accesses_are_logged_once)
{
	FILE *log = tmpfile();
	char line[256];
	unsigned int lines = 0;
	uint8_t data[2];

	cr_assert_not_null(log);
	log_configure(LOG_WARN, log, false, false);
	write_n(MMIO_STATUS, S_ACK, 1);
	write_n(MMIO_STATUS + 1, S_ACK, 4);
	virtio_mmio_bus_ops.read(t, MMIO_MAGIC_VALUE, data, 2);
	log_configure(LOG_OFF, NULL, false, false);

	rewind(log);
	while (fgets(line, sizeof(line), log))
		lines++;
	fclose(log);
	cr_assert_eq(lines, 1, "%u lines logged", lines);
}

Test(virtio_mmio, writes_to_read_only_registers_are_ignored)
{
	mmio_write32(t, MMIO_MAGIC_VALUE, 0);
	mmio_write32(t, MMIO_DEVICE_FEATURES, 0);
	mmio_write32(t, MMIO_INTERRUPT_STATUS, 0xff);
	mmio_write32(t, MMIO_CONFIG_GEN, 7);
	cr_assert_eq(mmio_read32(t, MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(mmio_read32(t, MMIO_CONFIG_GEN), 0);
}

Test(virtio_mmio, reserved_registers_read_as_zero)
{
	cr_assert_eq(mmio_read32(t, 0x0f0), 0);
	cr_assert_eq(mmio_read32(t, 0x018), 0);
}

/* ---- config space ---- */

Test(virtio_mmio, config_space_reads_go_to_the_device_relative_to_0x100)
{
	uint8_t data[2];

	virtio_mmio_bus_ops.read(t, 0x104, data, 2);
	cr_assert_eq(dev.cfg_read_off, 4);
	cr_assert_eq(dev.cfg_read_len, 2);
	cr_assert_eq(data[0], 0xa4);
	cr_assert_eq(data[1], 0xa5);
}

Test(virtio_mmio, config_space_writes_go_to_the_device)
{
	write_n(0x108, 0x1234, 2);
	cr_assert_eq(dev.cfg_write_off, 8);
	cr_assert_eq(dev.cfg_write_len, 2);
	cr_assert_eq(dev.cfg_written[0], 0x34);
	cr_assert_eq(dev.cfg_written[1], 0x12);
}

Test(virtio_mmio, config_change_bumps_the_generation)
{
	uint32_t gen = mmio_read32(t, MMIO_CONFIG_GEN);

	virtio_mmio_config_changed(t);
	cr_assert_neq(mmio_read32(t, MMIO_CONFIG_GEN), gen);
}

/* ---- interrupts and notifications ---- */

Test(virtio_mmio, config_change_after_driver_ok_raises_a_config_interrupt)
{
	virtio_mmio_config_changed(t);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS), 0, "nobody is listening yet");
	bring_up();
	virtio_mmio_config_changed(t);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS), INT_CONFIG);
}

Test(virtio_mmio, interrupt_ack_clears_only_the_acknowledged_bits)
{
	bring_up();
	virtio_mmio_config_changed(t);
	virtio_mmio_signal_used(t, 0);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS), INT_USED | INT_CONFIG);
	mmio_write32(t, MMIO_INTERRUPT_ACK, INT_USED);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS), INT_CONFIG);
	mmio_write32(t, MMIO_INTERRUPT_ACK, INT_CONFIG);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS), 0);
}

Test(virtio_mmio, queue_notify_reaches_the_device_after_driver_ok)
{
	bring_up();
	vq_put_desc(&mem, &vq1, 0, 0x10000, 16, 0, 0);
	vq_publish(&mem, &vq1, 0);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(dev.notifies, 1);
	cr_assert_eq(dev.last_notified, 1);
	cr_assert_eq(vq_used_idx(&mem, &vq1), 1);
	cr_assert_eq(mmio_read32(t, MMIO_INTERRUPT_STATUS) & INT_USED, INT_USED);
}

Test(virtio_mmio, queue_notify_before_driver_ok_is_ignored)
{
	driver_negotiate(t, OFFER);
	driver_setup_queue(t, 0, &vq0);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.notifies, 0);
}

Test(virtio_mmio, queue_notify_for_a_queue_the_device_lacks_is_ignored)
{
	bring_up();
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 2);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(dev.notifies, 0);
}

Test(virtio_mmio, broken_ring_sets_needs_reset_and_a_config_interrupt)
{
	bring_up();
	vq_set_avail_idx(&mem, &vq0, QSIZE + 1);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert(mmio_read32(t, MMIO_INTERRUPT_STATUS) & INT_CONFIG);
}

Test(virtio_mmio, notifications_stop_while_the_device_needs_a_reset)
{
	bring_up();
	vq_set_avail_idx(&mem, &vq0, QSIZE + 1);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(dev.notifies, 1);
}

Test(virtio_mmio, driver_status_writes_keep_needs_reset)
{
	bring_up();
	virtio_mmio_needs_reset(t);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_mmio, reset_clears_needs_reset)
{
	bring_up();
	virtio_mmio_needs_reset(t);
	mmio_write32(t, MMIO_STATUS, 0);
	cr_assert_eq(status(), 0);
}

Test(virtio_mmio, failed_activation_sets_needs_reset)
{
	dev.activate_ret = -EIO;
	driver_negotiate(t, OFFER);
	driver_setup_queue(t, 0, &vq0);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(dev.notifies, 0);
}

Test(virtio_mmio, init_refuses_more_queues_than_the_transport_has)
{
	struct virtio_device_ops many = fake_ops;
	struct virtio_mmio other;
	struct err_buf err;

	many.num_queues = VIRTIO_MAX_QUEUES + 1;
	cr_assert_eq(virtio_mmio_init(&other, &many, &dev, &mem, NULL, -1, 0, 5, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "fake"), "%s", err.msg);
}

/* ---- save and restore ---- */

Test(virtio_mmio, save_then_restore_round_trips_the_transport_and_its_queues)
{
	struct virtio_mmio_state st;
	struct fake_dev other;
	struct err_buf err;

	bring_up();
	vq_put_desc(&mem, &vq0, 0, 0x10000, 16, 0, 0);
	vq_publish(&mem, &vq0, 0);
	mmio_write32(t, MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio_config_changed(t);
	mmio_write32(t, MMIO_QUEUE_SEL, 1);
	virtio_mmio_save(t, &st);

	memset(&other, 0, sizeof(other));
	cr_assert_eq(virtio_mmio_init(&other.t, &fake_ops, &other, &mem, NULL, -1, 0xc0001000, 5,
				      &err), 0);
	cr_assert_eq(virtio_mmio_restore(&other.t, &st, &err), 0);
	cr_assert_eq(mmio_read32(&other.t, MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(other.t.driver_features, OFFER);
	cr_assert_eq(other.t.queue_sel, 1);
	cr_assert_eq(mmio_read32(&other.t, MMIO_INTERRUPT_STATUS), INT_USED | INT_CONFIG);
	cr_assert_eq(mmio_read32(&other.t, MMIO_CONFIG_GEN), 1);
	cr_assert(other.t.activated);
	for (unsigned int q = 0; q < 2; q++) {
		cr_assert(other.t.queues[q].ready);
		cr_assert_eq(other.t.queues[q].desc_gpa, t->queues[q].desc_gpa);
		cr_assert_eq(other.t.queues[q].last_avail_idx, t->queues[q].last_avail_idx);
		cr_assert_eq(other.t.queues[q].used_idx, t->queues[q].used_idx);
		cr_assert(other.t.queues[q].event_idx);
	}
	cr_assert_eq(other.t.queues[0].last_avail_idx, 1);

	/* The restored device goes on where the saved one stopped. */
	vq_publish(&mem, &vq0, 0);
	mmio_write32(&other.t, MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(vq_used_idx(&mem, &vq0), 2);
	virtio_mmio_destroy(&other.t);
}

/* A running device's saved state; the device is then reset, so a refusal leaves status 0. */
static void save_running_then_reset(struct virtio_mmio_state *st)
{
	bring_up();
	virtio_mmio_save(t, st);
	mmio_write32(t, MMIO_STATUS, 0);
}

Test(virtio_mmio, restore_refuses_driver_features_outside_the_offer)
{
	struct virtio_mmio_state st;
	struct err_buf err;

	save_running_then_reset(&st);
	st.driver_features |= VIRTIO_BIT(2);
	cr_assert_fails_with(virtio_mmio_restore(t, &st, &err), -EINVAL, err, "outside the offer");
	cr_assert_eq(status(), 0, "a refused state changes nothing");
	cr_assert_not(t->queues[0].ready);
}

Test(virtio_mmio, restore_refuses_an_activated_device_without_driver_ok)
{
	struct virtio_mmio_state st;

	bring_up();
	virtio_mmio_save(t, &st);
	st.status &= ~(uint32_t)S_DOK;
	cr_assert_eq(virtio_mmio_restore(t, &st, NULL), -EINVAL);
}

Test(virtio_mmio, restore_refuses_a_ready_queue_with_invalid_rings)
{
	struct virtio_mmio_state st;

	save_running_then_reset(&st);
	st.queues[1].avail_gpa = RAM_SIZE;
	cr_assert_eq(virtio_mmio_restore(t, &st, NULL), -EINVAL);
	cr_assert_eq(status(), 0);
}

/* Only the status bits write_status keeps (undefined ones are dropped) and NEEDS_RESET. */
Test(virtio_mmio, restore_refuses_a_status_with_bits_the_transport_never_keeps)
{
	static const uint32_t undefined[] = { 0x10, 0x20, 0x100, 0x80000000u };
	struct virtio_mmio_state st;
	struct err_buf err;

	save_running_then_reset(&st);
	for (unsigned int i = 0; i < 4; i++) {
		struct virtio_mmio_state bad = st;

		bad.status |= undefined[i];
		cr_assert_fails_with(virtio_mmio_restore(t, &bad, &err), -EINVAL, err,
				     "undefined bits");
		cr_assert_eq(status(), 0, "a refused state changes nothing");
	}
}

/* write_status never sets DRIVER_OK before FEATURES_OK (3.1.1). */
Test(virtio_mmio, restore_refuses_driver_ok_without_features_ok)
{
	struct virtio_mmio_state st;
	struct err_buf err;

	save_running_then_reset(&st);
	st.status &= ~(uint32_t)S_FOK;
	cr_assert_fails_with(virtio_mmio_restore(t, &st, &err), -EINVAL, err,
			     "DRIVER_OK without FEATURES_OK");
	cr_assert_eq(status(), 0);
}

/* set_features_ok refuses a driver that did not accept VERSION_1 (no legacy drivers). */
Test(virtio_mmio, restore_refuses_features_ok_without_version_1)
{
	struct virtio_mmio_state st;
	struct err_buf err;

	save_running_then_reset(&st);
	st.driver_features &= ~VIRTIO_BIT(VIRTIO_F_VERSION_1);
	cr_assert_fails_with(virtio_mmio_restore(t, &st, &err), -EINVAL, err, "VERSION_1");
	cr_assert_eq(status(), 0);
}

/* set_features_ok gives every queue the negotiated EVENT_IDX and INDIRECT_DESC. */
Test(virtio_mmio, restore_refuses_queue_flags_that_disagree_with_the_driver_features)
{
	struct virtio_mmio_state st, bad;
	struct err_buf err;

	driver_negotiate(t, OFFER & ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	driver_setup_queue(t, 0, &vq0);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_mmio_save(t, &st);
	cr_assert(st.queues[1].event_idx && !st.queues[1].indirect);

	bad = st;
	bad.queues[0].indirect = 1;
	cr_assert_fails_with(virtio_mmio_restore(t, &bad, &err), -EINVAL, err,
			     "queue 0: INDIRECT_DESC on, but the driver features lack it");
	cr_assert_not(t->queues[0].indirect, "a refused state changes nothing");
	bad = st;
	bad.queues[1].event_idx = 0;
	cr_assert_fails_with(virtio_mmio_restore(t, &bad, &err), -EINVAL, err,
			     "queue 1: EVENT_IDX off, but the driver features have it");
	cr_assert_eq(virtio_mmio_restore(t, &st, &err), 0, "%s", err.msg);
}

/* Until FEATURES_OK no feature is in force: the queues' flags are still clear. */
Test(virtio_mmio, restore_refuses_queue_flags_before_features_ok)
{
	struct virtio_mmio_state st;
	struct err_buf err;

	driver_negotiate(t, 0);
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)OFFER_LOW);
	virtio_mmio_save(t, &st);
	cr_assert_eq(st.status & S_FOK, 0);
	cr_assert_eq(virtio_mmio_restore(t, &st, &err), 0, "%s", err.msg);
	st.queues[0].event_idx = 1;
	cr_assert_fails_with(virtio_mmio_restore(t, &st, &err), -EINVAL, err,
			     "queue 0: EVENT_IDX on before FEATURES_OK");
}

/* What a driver and the device can reach is accepted, the odd ones included. */
Test(virtio_mmio, restore_accepts_failed_and_needs_reset_in_any_phase)
{
	struct virtio_mmio_state st;
	struct err_buf err;

	mmio_write32(t, MMIO_QUEUE_NUM, 3); /* before any other bit: NEEDS_RESET alone */
	virtio_mmio_save(t, &st);
	cr_assert_eq(st.status, VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(virtio_mmio_restore(t, &st, &err), 0, "%s", err.msg);
	mmio_write32(t, MMIO_STATUS, 0);
	mmio_write32(t, MMIO_STATUS, VIRTIO_STATUS_FAILED); /* a driver giving up at once */
	virtio_mmio_save(t, &st);
	cr_assert_eq(virtio_mmio_restore(t, &st, &err), 0, "%s", err.msg);
	mmio_write32(t, MMIO_STATUS, 0);
	bring_up();
	virtio_mmio_needs_reset(t);
	mmio_write32(t, MMIO_STATUS, status() | VIRTIO_STATUS_FAILED);
	virtio_mmio_save(t, &st);
	cr_assert_eq(st.status, S_ACK | S_DRV | S_FOK | S_DOK | VIRTIO_STATUS_NEEDS_RESET |
					VIRTIO_STATUS_FAILED);
	cr_assert_eq(virtio_mmio_restore(t, &st, &err), 0, "%s", err.msg);
}

/* ---- activation and reset: recorded on the vCPU, settled on the VMM thread ---- */

static unsigned int settles;

static void fake_settle(void *d)
{
	(void)d;
	settles++;
}

static const struct virtio_device_ops settled_ops = {
	.name = "settled",
	.device_id = FAKE_ID,
	.num_queues = 2,
	.features = fake_features,
	.activate = fake_activate,
	.reset = fake_reset,
	.settle = fake_settle,
	.queue_notify = fake_queue_notify,
};

static struct event_loop loop;

/* The fake device again, with a settle op and an event loop (still no KVM). */
static void setup_settled(void)
{
	struct err_buf err;

	setup();
	virtio_mmio_destroy(t);
	memset(&dev, 0, sizeof(dev));
	settles = 0;
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(virtio_mmio_init(t, &settled_ops, &dev, &mem, &loop, -1, 0xc0001000, 5, &err),
		     0, "%s", err.msg);
}

static void teardown_settled(void)
{
	teardown();
	event_loop_destroy(&loop);
}

Test(virtio_mmio_settle, driver_ok_is_settled_by_the_loop_not_by_the_status_write,
     .init = setup_settled, .fini = teardown_settled)
{
	bring_up();
	cr_assert_eq(dev.activations, 1);
	cr_assert_eq(settles, 0, "the vCPU's status write must not do the host-side work");
	cr_assert_eq(event_loop_run_once(&loop, 1000), 1);
	cr_assert_eq(settles, 1, "the reset and the activation before it: one settle");
	cr_assert_eq(event_loop_run_once(&loop, 0), 0);
	cr_assert_eq(settles, 1);
}

Test(virtio_mmio_settle, reset_is_settled_too, .init = setup_settled, .fini = teardown_settled)
{
	bring_up();
	event_loop_run_once(&loop, 1000);
	mmio_write32(t, MMIO_STATUS, 0);
	cr_assert_eq(status(), 0, "the driver sees the reset done at once");
	cr_assert_eq(settles, 1);
	event_loop_run_once(&loop, 1000);
	cr_assert_eq(settles, 2);
}

Test(virtio_mmio_settle, a_pause_settles_what_is_pending_once, .init = setup_settled,
     .fini = teardown_settled)
{
	bring_up();
	virtio_mmio_settle(t); /* as vm_pause does, before the loop has run */
	cr_assert_eq(settles, 1);
	event_loop_run_once(&loop, 0); /* the eventfd still fires: nothing left to do */
	virtio_mmio_settle(t);
	cr_assert_eq(settles, 1);
}

Test(virtio_mmio_settle, without_a_loop_settle_runs_at_once, .init = setup, .fini = teardown)
{
	struct err_buf err;

	virtio_mmio_destroy(t);
	memset(&dev, 0, sizeof(dev));
	settles = 0;
	cr_assert_eq(virtio_mmio_init(t, &settled_ops, &dev, &mem, NULL, -1, 0xc0001000, 5, &err),
		     0, "%s", err.msg);
	bring_up();
	cr_assert_geq(settles, 1);
	settles = 0;
	mmio_write32(t, MMIO_STATUS, 0);
	cr_assert_eq(settles, 1, "no loop to hand it to: the writer settles");
}

/*
 * Issue 14 #4: a guest's bad register writes must not flood the host's log.
 * 100 000 QueueReady writes on a queue of size 0 (invalid layout), the
 * pattern that produced 9.2 MB of log in 0.37 s, give at most two lines:
 * the first, and maybe one when the 5 s window turns.
 */
Test(virtio_mmio, a_guest_cannot_flood_the_log_with_bad_register_writes)
{
	char path[] = "/tmp/ignis-mmio-log.XXXXXX", buf[4096];
	int fd = mkstemp(path), lines = 0;
	struct err_buf e;
	ssize_t n;

	cr_assert_geq(fd, 0);
	cr_assert_eq(log_reconfigure(path, LOG_WARN, false, false, &e), 0, "%s", e.msg);
	driver_negotiate(t, OFFER);
	mmio_write32(t, MMIO_QUEUE_SEL, 0);
	mmio_write32(t, MMIO_QUEUE_NUM, 0);
	for (int i = 0; i < 100000; i++)
		mmio_write32(t, MMIO_QUEUE_READY, 1);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	cr_assert(strstr(buf, "QueueNum 0 is not a power of two"), "log: %s", buf);
	cr_assert_leq(lines, 2, "%d lines: %s", lines, buf);
}

/* ---- what a guest writes cannot make its own snapshot invalid (issue 14 #5) ---- */

static void expect_restorable(void)
{
	struct virtio_mmio_state st;

	virtio_mmio_save(t, &st);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		cr_assert(st.queues[i].size && !(st.queues[i].size & (st.queues[i].size - 1)),
			  "queue %u saved with size %u", i, st.queues[i].size);
	cr_assert_eq(st.status & ~(VIRTIO_STATUS_DRIVER_BITS | VIRTIO_STATUS_NEEDS_RESET), 0,
		     "status 0x%x saved", st.status);
	cr_assert_eq(st.driver_features & ~OFFER, 0, "features 0x%llx saved",
		     (unsigned long long)st.driver_features);
	cr_assert_eq(virtio_mmio_restore(t, &st, NULL), 0);
}

Test(virtio_mmio, a_queue_size_that_is_no_power_of_two_is_not_kept)
{
	for (uint32_t bad = 0; bad < 4; bad++) {
		mmio_write32(t, MMIO_QUEUE_SEL, bad % 2);
		mmio_write32(t, MMIO_QUEUE_NUM, (uint32_t[]){ 0, 3, 1000, 24 }[bad]);
		expect_restorable();
	}
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET, "the driver is told to reset");
	mmio_write32(t, MMIO_STATUS, 0);
	bring_up();
	cr_assert_eq(mmio_read32(t, MMIO_QUEUE_READY), 1, "usable again after a reset");
}

Test(virtio_mmio, undefined_status_bits_are_not_kept)
{
	mmio_write32(t, MMIO_STATUS, S_ACK | 0x30);
	cr_assert_eq(status(), S_ACK);
	expect_restorable();
	mmio_write32(t, MMIO_STATUS, 0x10); /* only undefined bits: not a reset */
	cr_assert_eq(status(), S_ACK);
}

Test(virtio_mmio, features_outside_the_offer_are_dropped_and_features_ok_refused)
{
	driver_negotiate(t, OFFER | VIRTIO_BIT(2) | VIRTIO_BIT(40));
	cr_assert_eq(status(), S_ACK | S_DRV, "FEATURES_OK must read back clear");
	cr_assert_eq(t->driver_features & ~OFFER, 0);
	expect_restorable();
	/* Even once the driver writes only offered bits: refused until a reset. */
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)OFFER_LOW);
	mmio_write32(t, MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	cr_assert_eq(status(), S_ACK | S_DRV);
	mmio_write32(t, MMIO_STATUS, 0);
	driver_negotiate(t, OFFER);
	cr_assert(status() & S_FOK);
}
